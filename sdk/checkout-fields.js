/*
 * Paygate hosted checkout: what the card and UPI fields do with each key a person presses.
 *
 * Each formatter is a pure function of what the field holds right after an edit:
 *
 *   format(value, caret, edit) -> {value, caret}
 *
 * `value` and `caret` are the field's text and caret position after the browser applied the
 * edit (a key, a paste, autofill); `edit` is {inputType, previous}: the InputEvent's inputType
 * ('' for autofill and scripts) and the value the field showed before. The result is what to
 * show and where the caret goes: after the same digits it followed, so no digit is lost and the
 * caret never jumps. A digit that does not fit (a 20th card digit, a fifth CVV digit, a third
 * year digit) is refused rather than let it push out a digit already shown. attach() wires the
 * formatters to the page's inputs; nothing reads the DOM before it is called, so Node's test
 * runner loads this file as it is (tests/js/).
 */
(function (root, factory) {
  'use strict';
  var fields = factory();
  if (typeof module === 'object' && module && module.exports) {
    module.exports = fields;
  }
  if (root) {
    root.PaygateCheckoutFields = fields;
  }
})(typeof window !== 'undefined' ? window : null, function () {
  'use strict';

  var MAX_CARD_DIGITS = 19;
  var MAX_CVV_DIGITS = 4;
  // A year has two digits ("34"), or four when it starts with 20 ("2034").
  var LONG_YEAR_PREFIX = '20';
  var MAX_YEAR_DIGITS = 4;
  // Edits made with keys (typing, an IME, autocorrect, deleting), as against a paste, a drop or
  // autofill (inputType '' or any other).
  var KEYED_INPUT = /^(insertText|insertCompositionText|insertReplacementText|delete)/;
  // What people put between month and year: "12/34", "12 / 34", "12-34", "12.34".
  var EXPIRY_SEPARATOR = /[\s/.\-]/;

  function isDigit(ch) {
    return ch >= '0' && ch <= '9';
  }

  function digitsOnly(text) {
    return String(text == null ? '' : text).replace(/\D/g, '');
  }

  function isDeletion(edit) {
    return !!(edit && edit.inputType && edit.inputType.indexOf('delete') === 0);
  }

  function clampCaret(value, caret) {
    var text = String(value == null ? '' : value);
    var position = typeof caret === 'number' && caret >= 0 ? caret : text.length;
    return Math.min(position, text.length);
  }

  /**
   * Split an edit into what it kept in front, what it put in, and what it kept behind:
   * value = head + inserted + tail and previous = head + (what it replaced) + tail, the caret at
   * the end of `inserted`. Without a previous value that fits, everything before the caret is
   * taken as inserted.
   */
  function splitEdit(value, caret, previous) {
    var before = previous == null ? '' : String(previous);
    var tailLength = value.length - caret;
    if (tailLength > before.length || value.slice(caret) !== before.slice(before.length - tailLength)) {
      return { head: '', inserted: value.slice(0, caret), tail: value.slice(caret) };
    }
    var limit = Math.min(caret, before.length - tailLength);
    var start = 0;
    while (start < limit && value.charAt(start) === before.charAt(start)) {
      start++;
    }
    return { head: value.slice(0, start), inserted: value.slice(start, caret), tail: value.slice(caret) };
  }

  /**
   * Run `layout` (which says whether every digit `fits`); when an insertion does not fit, keep
   * the inserted characters up to the first digit that does not fit and refuse the rest, so a
   * digit already in the field is never pushed out. The caret stays after what was accepted.
   */
  function withRoom(layout) {
    return function (value, caret, edit) {
      var result = layout(value, caret, edit);
      if (result.fits || isDeletion(edit)) {
        return result;
      }
      var parts = splitEdit(value, caret, edit.previous);
      var accepted = layout(parts.head + parts.tail, parts.head.length, edit);
      if (!accepted.fits) {
        return result; // what was there already does not fit: nothing of this edit to refuse
      }
      var kept = parts.inserted.length;
      for (var i = 0; i < parts.inserted.length; i++) {
        if (!isDigit(parts.inserted.charAt(i))) {
          continue;
        }
        var text = parts.inserted.slice(0, i + 1);
        var attempt = layout(parts.head + text + parts.tail, parts.head.length + text.length, edit);
        if (!attempt.fits) {
          kept = i;
          break;
        }
        accepted = attempt;
      }
      var inserted = parts.inserted.slice(0, kept);
      var shown = layout(parts.head + inserted + parts.tail, parts.head.length + inserted.length, edit);
      if (!shown.fits) {
        shown = accepted;
      }
      if (shown.value === edit.previous) {
        shown.caret = parts.head.length; // all refused: the caret stays where the key was pressed
      }
      return shown;
    };
  }

  /**
   * A field's formatter from its layout: the text is read in NFKC first, so full-width digits,
   * slashes and spaces from IME keyboards ("４２４２", "１２／３４") count as the ASCII ones;
   * the caret keeps its place among them. Returns {value, caret}.
   */
  function formatter(layout) {
    return function (value, caret, edit) {
      var text = String(value == null ? '' : value);
      var at = clampCaret(text, caret);
      var head = text.slice(0, at).normalize('NFKC');
      var previous = edit && edit.previous != null ? String(edit.previous).normalize('NFKC') : null;
      var result = layout(head + text.slice(at).normalize('NFKC'), head.length, {
        inputType: (edit && edit.inputType) || '',
        previous: previous
      });
      return { value: result.value, caret: result.caret };
    };
  }

  /** The caret position right after the `count`-th digit of `value` (0: the start). */
  function caretAfterDigits(value, count) {
    if (count <= 0) {
      return 0;
    }
    var seen = 0;
    for (var i = 0; i < value.length; i++) {
      if (isDigit(value.charAt(i))) {
        seen++;
        if (seen === count) {
          return i + 1;
        }
      }
    }
    return value.length;
  }

  /**
   * Run `layout`; if a deletion removed only a separator that the layout puts straight back
   * (Backspace just after the slash of "12/34" or a space of a card number), the person meant
   * the digit next to it: delete that digit instead, keeping the separator where it was.
   */
  function withSeparatorDeletion(layout, separator) {
    return function (value, caret, edit) {
      var text = String(value == null ? '' : value);
      var at = clampCaret(text, caret);
      var result = layout(text, at, edit || {});
      if (!isDeletion(edit) || edit.previous == null || result.value !== String(edit.previous)) {
        return result;
      }
      var forward = edit.inputType.indexOf('Forward') !== -1;
      var index = -1;
      var i;
      if (forward) {
        for (i = at; i < text.length && index < 0; i++) {
          if (isDigit(text.charAt(i))) { index = i; }
        }
      } else {
        for (i = at - 1; i >= 0 && index < 0; i--) {
          if (isDigit(text.charAt(i))) { index = i; }
        }
      }
      if (index < 0) {
        return result;
      }
      var rest = text.slice(0, index) + text.slice(index + 1);
      var position = forward ? at : index;
      rest = rest.slice(0, position) + separator + rest.slice(position);
      return layout(rest, position, edit);
    };
  }

  // ------------------------------------------------------------------ card number
  function layoutCardNumber(value, caret) {
    var all = digitsOnly(value);
    var digits = all.slice(0, MAX_CARD_DIGITS);
    var before = Math.min(digitsOnly(value.slice(0, caret)).length, digits.length);
    // American Express: 4-6-5, and any digit past the fifteenth in a last group (it is then a
    // wrong number, which Pay says; the field never drops a digit to fit a network).
    var groups = /^3[47]/.test(digits) ? [4, 6, 5, 4] : [4, 4, 4, 4, 3];
    var parts = [];
    var index = 0;
    for (var i = 0; i < groups.length && index < digits.length; i++) {
      parts.push(digits.slice(index, index + groups[i]));
      index += groups[i];
    }
    var formatted = parts.join(' ');
    return {
      value: formatted,
      caret: caretAfterDigits(formatted, before),
      fits: all.length <= MAX_CARD_DIGITS
    };
  }

  /**
   * Digits in groups of four (American Express: 4-6-5), at most 19, a digit past them refused;
   * spaces and dashes go.
   */
  var formatCardNumber = formatter(withSeparatorDeletion(withRoom(layoutCardNumber), ' '));

  // ------------------------------------------------------------------ expiry
  /*
   * The month is the first run of digits, the year every digit after the separator that ends
   * it (or, with no separator, after the month). The slash comes by itself after two month
   * digits while typing, and the caret goes past it, so "1234" reads "12/34". A first digit 2-9,
   * or a single digit followed by a separator, is a one-digit month: "4" -> "04/", "1/" -> "01/".
   * A month that is none ("13", "00") stays as typed, for Pay to refuse: read as another
   * ("13" as "01/3", or its second digit refused) it turned "13/34" typed key by key into
   * "01/33", and "00/34" into "03/4", dates the person never typed that Pay then sent. The layout
   * `fits` unless the year has more digits than it can (two, or four starting with 20): then
   * withRoom refuses the digit typed. Deleting never adds anything: Backspace after "12/" leaves
   * "12".
   */
  function layoutExpiry(value, caret, edit) {
    var deleting = isDeletion(edit);
    var before = digitsOnly(value.slice(0, caret)).length;
    var month = '';
    var year = '';
    var separatorAt = -1;
    for (var i = 0; i < value.length; i++) {
      var ch = value.charAt(i);
      if (isDigit(ch)) {
        if (separatorAt < 0) {
          month += ch;
        } else {
          year += ch;
        }
      } else if (separatorAt < 0 && month && month !== '0' && EXPIRY_SEPARATOR.test(ch)) {
        separatorAt = i; // a separator after a lone "0" waits for the month's second digit
      }
    }
    var shift = 0; // digits added in front of the caret by padding the month
    var keepSeparator = separatorAt >= 0;
    var written = separatorAt >= 0 && month.length <= 2; // the month is what was written
    if (written) {
      if (month.length === 1 && !deleting && caret > separatorAt) {
        month = '0' + month;
        shift = 1;
      }
    } else {
      // No separator, or one after three or more digits: the digits are read again as one run
      // (typed in front of the slash, they move on to the year, none lost).
      var digits = month + year;
      var first = digits.charAt(0);
      if (!deleting && first > '1') {
        month = '0' + first;
        year = digits.slice(1);
        shift = 1;
      } else {
        month = digits.slice(0, 2);
        year = digits.slice(2);
      }
    }
    var yearDigits = year.slice(0, LONG_YEAR_PREFIX.length) === LONG_YEAR_PREFIX ? MAX_YEAR_DIGITS : 2;
    var fits = year.length <= yearDigits;
    year = year.slice(0, yearDigits);

    var formatted;
    if (month.length < 2) {
      formatted = keepSeparator ? month + '/' + year : month;
    } else if (year || !deleting || keepSeparator) {
      formatted = month + '/' + year;
    } else {
      formatted = month;
    }
    var count = Math.min(before > 0 ? before + shift : 0, (month + year).length);
    var position = caretAfterDigits(formatted, count);
    // Past the slash while typing, or when the caret already followed a separator.
    var afterSeparator = caret > 0 && EXPIRY_SEPARATOR.test(value.charAt(caret - 1));
    if (formatted.charAt(position) === '/' && (!deleting || afterSeparator)) {
      position++;
    }
    return { value: formatted, caret: position, fits: fits };
  }

  /** MM/YY or MM/YYYY from what people type, paste or autofill ("1234", "12 / 34", "12/2034"). */
  var formatExpiry = formatter(withSeparatorDeletion(withRoom(layoutExpiry), '/'));

  /**
   * The expiry from autofill's separate month and year fields (cc-exp-month, cc-exp-year), or ''
   * while one of them is still empty.
   */
  function expiryFromParts(month, year) {
    var m = digitsOnly(month).slice(-2);
    var y = digitsOnly(year);
    if (!m || !y) {
      return '';
    }
    if (m.length === 1) {
      m = '0' + m;
    }
    y = y.length > 2 ? y.slice(0, MAX_YEAR_DIGITS) : y;
    return m + '/' + y;
  }

  // ------------------------------------------------------------------ CVV and UPI ID
  function layoutCvv(value, caret) {
    var all = digitsOnly(value);
    var digits = all.slice(0, MAX_CVV_DIGITS);
    var before = Math.min(digitsOnly(value.slice(0, caret)).length, digits.length);
    return { value: digits, caret: before, fits: all.length <= MAX_CVV_DIGITS };
  }

  /** Digits only, at most four, a fifth refused. */
  var formatCvv = formatter(withRoom(layoutCvv));

  /** `text` as a UPI ID field shows it: no leading whitespace, each inner run one space. */
  function collapseSpaces(text) {
    return text.replace(/^\s+/, '').replace(/\s+/g, ' ');
  }

  /**
   * A UPI ID with the whitespace at its ends gone: leading whitespace at once, trailing
   * whitespace too when the value was pasted, dropped or autofilled. Whitespace inside stays
   * (each run one space) so the person sees it, and the page refuses the ID at Pay: removing it
   * would pay an ID nobody wrote ("success@okaxis" + a second line). While typing, a trailing
   * space stays, since it may be the space before the next word; the page trims it when paying.
   */
  function formatVpa(value, caret, edit) {
    var text = String(value == null ? '' : value);
    var at = clampCaret(text, caret);
    var shown = collapseSpaces(text);
    var position = collapseSpaces(text.slice(0, at)).length;
    if (!(edit && KEYED_INPUT.test(edit.inputType || ''))) {
      shown = shown.replace(/ $/, '');
    }
    return { value: shown, caret: Math.min(position, shown.length) };
  }

  // ------------------------------------------------------------------ wiring
  /**
   * Format `input` on every edit. Returns set(value): put a value in as autofill does (value,
   * then input and change events), so every listener of the field sees it.
   */
  function bind(input, format) {
    var shown = input.value;
    input.addEventListener('input', function (event) {
      var value = input.value;
      var focused = input.ownerDocument.activeElement === input;
      var caret = focused && input.selectionStart != null ? input.selectionStart : value.length;
      var result = format(value, caret, { inputType: event.inputType || '', previous: shown });
      if (result.value !== value) {
        input.value = result.value;
      }
      if (focused && (input.selectionStart !== result.caret || input.selectionEnd !== result.caret)) {
        input.setSelectionRange(result.caret, result.caret);
      }
      shown = input.value;
    });
    return function set(value) {
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    };
  }

  /**
   * Wire the checkout's fields: {cardNumber, expiry, expiryMonth, expiryYear, cvv, vpa}, each an
   * <input> (expiryMonth/expiryYear are the autofill-only month and year inputs). Attach before
   * any other `input` listener of these fields, so the others see the formatted value.
   */
  function attach(inputs) {
    bind(inputs.cardNumber, formatCardNumber);
    var setExpiry = bind(inputs.expiry, formatExpiry);
    bind(inputs.cvv, formatCvv);
    bind(inputs.vpa, formatVpa);
    var parts = [inputs.expiryMonth, inputs.expiryYear].filter(Boolean);
    parts.forEach(function (part) {
      function fromParts() {
        if (parts.length !== 2) {
          return;
        }
        var expiry = expiryFromParts(parts[0].value, parts[1].value);
        if (expiry && expiry !== inputs.expiry.value) {
          setExpiry(expiry);
        }
      }
      part.addEventListener('input', fromParts);
      part.addEventListener('change', fromParts);
    });
  }

  return {
    formatCardNumber: formatCardNumber,
    formatExpiry: formatExpiry,
    formatCvv: formatCvv,
    formatVpa: formatVpa,
    expiryFromParts: expiryFromParts,
    attach: attach
  };
});
