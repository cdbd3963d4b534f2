"""`python -m paygate_cli` is the `paygate` command."""

from paygate_cli.main import main

raise SystemExit(main())
