// Unit tests of sdk/checkout-fields.js (node --test tests/js): each case replays keys the way a
// browser applies them (insert at the caret or delete next to it, then the `input` event), so a
// formatter that loses a digit or moves the caret fails here before it reaches Chromium.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fields = require('../../sdk/checkout-fields.js');

/** A field as the browser holds it: the value, the caret (or a selection from the caret to
 * `selectionEnd`), and the formatter on `input`. */
function field(format, value = '', caret = value.length) {
  const state = { value, caret };
  let selectionEnd = null; // a selection runs from state.caret to here; typing replaces it
  function apply(next, at, inputType) {
    const result = format(next, at, { inputType, previous: state.value });
    state.value = result.value;
    state.caret = result.caret;
  }
  function replaceSelection(text, inputType) {
    const v = state.value;
    const end = selectionEnd == null ? state.caret : selectionEnd;
    selectionEnd = null;
    apply(v.slice(0, state.caret) + text + v.slice(end), state.caret + text.length, inputType);
  }
  return {
    state,
    type(text) {
      for (const ch of text) {
        replaceSelection(ch, 'insertText');
      }
      return this;
    },
    backspace(times = 1) {
      for (let i = 0; i < times; i++) {
        if (state.caret === 0) continue; // the browser fires no input event
        const v = state.value;
        apply(v.slice(0, state.caret - 1) + v.slice(state.caret), state.caret - 1,
          'deleteContentBackward');
      }
      return this;
    },
    del() {
      const v = state.value;
      if (state.caret < v.length) {
        apply(v.slice(0, state.caret) + v.slice(state.caret + 1), state.caret,
          'deleteContentForward');
      }
      return this;
    },
    paste(text, inputType = 'insertFromPaste') {
      replaceSelection(text, inputType);
      return this;
    },
    /** What browser autofill does: the whole value replaced, no inputType, no caret. */
    autofill(text) {
      const result = format(text, text.length, { inputType: '', previous: state.value });
      state.value = result.value;
      state.caret = result.caret;
      return this;
    },
    caretAt(position) {
      state.caret = position;
      selectionEnd = null;
      return this;
    },
    select(start, end) {
      state.caret = start;
      selectionEnd = end;
      return this;
    },
  };
}

function typed(format, text) {
  return field(format).type(text).state;
}

test('card numbers: with or without spaces or dashes, grouped as they are typed', () => {
  const cases = [
    ['4242424242424242', '4242 4242 4242 4242'],
    ['4242 4242 4242 4242', '4242 4242 4242 4242'],
    ['4242-4242-4242-4242', '4242 4242 4242 4242'],
    ['  4242  4242 ', '4242 4242'],
    ['378282246310005', '3782 822463 10005'], // American Express: 4-6-5
    ['6011111111111117', '6011 1111 1111 1117'],
    ['42424242424242424242424', '4242 4242 4242 4242 424'], // at most 19 digits
    ['4242abc4242', '4242 4242'],
  ];
  for (const [keys, shown] of cases) {
    assert.deepEqual(typed(fields.formatCardNumber, keys), { value: shown, caret: shown.length },
      `typing ${JSON.stringify(keys)}`);
  }
});

test('card numbers: the caret stays after the digit just typed or deleted', () => {
  // A digit typed in the middle pushes the rest along; the caret follows the new digit.
  const middle = field(fields.formatCardNumber).type('42424242').caretAt(2).type('9').state;
  assert.deepEqual(middle, { value: '4294 2424 2', caret: 3 });
  const beforeSpace = field(fields.formatCardNumber).type('42424242').caretAt(4).type('1').state;
  assert.deepEqual(beforeSpace, { value: '4242 1424 2', caret: 6 });
  // Backspace just after a space deletes the digit before it, not nothing.
  const overSpace = field(fields.formatCardNumber).type('42424242').caretAt(5).backspace().state;
  assert.deepEqual(overSpace, { value: '4244 242', caret: 3 });
  const fromEnd = field(fields.formatCardNumber).type('42424').backspace(2).state;
  assert.deepEqual(fromEnd, { value: '424', caret: 3 });
});

test('card numbers: a digit that does not fit is refused, never one already in the field', () => {
  const card = fields.formatCardNumber;
  const full = '4242 4242 4242 4242 424'; // 19 digits: the most a card number has
  // Typed at position 2 of a full number: the last digit used to drop out.
  assert.deepEqual(field(card).type(full).caretAt(2).type('9').state, { value: full, caret: 2 });
  assert.deepEqual(field(card).type(full).caretAt(5).type('99').state, { value: full, caret: 5 });
  // 5555555555554444 with the first two digits selected, then 37: an American Express prefix;
  // the grouping follows, and no digit goes (it used to lose its final 4 for good).
  const amexPrefix = field(card).type('5555555555554444').select(0, 2).type('37').state;
  assert.equal(amexPrefix.value.replace(/\D/g, ''), '37' + '5'.repeat(10) + '4444');
  assert.deepEqual(amexPrefix, { value: '3755 555555 55444 4', caret: 2 });
  // A digit typed in the middle of a 15-digit American Express number: 16 digits, none lost.
  assert.deepEqual(field(card).type('378282246310005').caretAt(5).type('1').state,
    { value: '3782 182246 31000 5', caret: 6 });
  // American Express grouping never caps the count below 19: extra digits go in a last group.
  assert.deepEqual(typed(card, '3782822463100051234'),
    { value: '3782 822463 10005 1234', caret: 22 });
  assert.deepEqual(typed(card, '37828224631000512345'),
    { value: '3782 822463 10005 1234', caret: 22 });
  // Replacing a selected digit of a full number keeps the count: accepted.
  assert.deepEqual(field(card).type(full).select(0, 1).type('5').state,
    { value: '5242 4242 4242 4242 424', caret: 1 });
  // A paste that does not fit: what fits goes in, the caret after it, nothing pushed out.
  assert.deepEqual(field(card).type('4242424242424242').caretAt(4).paste('99999').state,
    { value: '4242 9994 2424 2424 242', caret: 8 });
  // A paste over the whole number replaces it.
  assert.deepEqual(field(card).type(full).select(0, full.length).paste('5555-5555-5555-4444').state,
    { value: '5555 5555 5555 4444', caret: 19 });
  // A huge paste into an empty field: its first 19 digits (nothing was there to keep).
  const huge = '4'.repeat(10000);
  assert.deepEqual(field(card).paste(huge).state, { value: '4444 4444 4444 4444 444', caret: 23 });
  assert.equal(field(card).autofill(huge).state.value, '4444 4444 4444 4444 444');
});

test('card numbers: any digit inserted anywhere is kept, or refused when the field is full', () => {
  const card = fields.formatCardNumber;
  let seed = 7;
  const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  for (let round = 0; round < 3000; round++) {
    const length = random(20);
    let digits = (random(3) === 0 ? '37' : '4').concat(String(round).repeat(20)).slice(0, length);
    const f = field(card).type(digits);
    digits = f.state.value.replace(/\D/g, '');
    const at = random(f.state.value.length + 1);
    const key = String(random(10));
    const before = { ...f.state, caret: at };
    f.caretAt(at).type(key);
    const shown = f.state.value.replace(/\D/g, '');
    const index = before.value.slice(0, at).replace(/\D/g, '').length;
    if (digits.length >= 19) {
      assert.deepEqual(f.state, before, `typing ${key} at ${at} of a full ${before.value}`);
    } else {
      assert.equal(shown, digits.slice(0, index) + key + digits.slice(index),
        `typing ${key} at ${at} of ${before.value} showed ${f.state.value}`);
      assert.equal(f.state.value.slice(0, f.state.caret).replace(/\D/g, '').length, index + 1);
    }
  }
});

test('expiry: 12/34, 1234, 12 / 34 and 12/2034 all read as the person meant', () => {
  const cases = [
    ['1234', '12/34'],
    ['12/34', '12/34'],
    ['12 / 34', '12/34'],
    ['12/2034', '12/2034'],
    ['122034', '12/2034'],
    ['12-34', '12/34'],
    ['0734', '07/34'],
    ['734', '07/34'], // a first digit 2-9 can only be a month
    ['1/34', '01/34'], // one digit, then the slash
    ['1 34', '01/34'],
    ['0/734', '07/34'], // a slash after a lone 0 waits for the month's second digit
    ['12', '12/'],
    ['1', '1'],
    ['12/20345', '12/2034'], // at most four year digits
  ];
  for (const [keys, shown] of cases) {
    assert.deepEqual(typed(fields.formatExpiry, keys), { value: shown, caret: shown.length },
      `typing ${JSON.stringify(keys)}`);
  }
});

test('expiry: a month over 12, or 00, stays as typed for Pay to refuse; never read as another date', () => {
  const expiry = fields.formatExpiry;
  for (const [keys, shown] of [
    ['13', '13/'], // no month: shown as typed, Pay says so (it was read as "01/3")
    ['19', '19/'],
    ['13/34', '13/34'], // typed key by key (it became "01/33": a 3 invented, the 4 lost)
    ['1334', '13/34'],
    ['10', '10/'],
    ['11', '11/'],
    ['00', '00/'], // (the second 0 was refused, and "00/34" became "03/4")
    ['00/34', '00/34'],
    ['0012', '00/12'],
    ['09', '09/'],
  ]) {
    assert.deepEqual(typed(expiry, keys), { value: shown, caret: shown.length },
      `typing ${JSON.stringify(keys)}`);
  }
  // Typed in front of the slash, a digit that would push a digit out of a full year: refused,
  // the caret stays.
  assert.deepEqual(field(expiry).type('1').type('/').type('34').caretAt(1).type('3').state,
    { value: '01/34', caret: 1 });
  // A month written with its own slash stays as written (Pay refuses it).
  assert.deepEqual(field(expiry, '1/34', 1).type('3').state, { value: '13/34', caret: 3 });
  assert.deepEqual(field(expiry).paste('13/34').state, { value: '13/34', caret: 5 });
  assert.deepEqual(field(expiry).autofill('00/34').state, { value: '00/34', caret: 5 });
  assert.deepEqual(field(expiry).paste('1334').state, { value: '13/34', caret: 5 });
});

test('expiry: a year has two digits, or four when it starts with 20; no digit is pushed out', () => {
  const expiry = fields.formatExpiry;
  for (const [keys, shown] of [
    ['12/345', '12/34'],
    ['12345', '12/34'],
    ['12/203', '12/203'], // on the way to 12/2034
    ['12/2034', '12/2034'],
    ['12/20345', '12/2034'],
    ['12/21', '12/21'],
    ['12/213', '12/21'],
    ['734567', '07/34'],
  ]) {
    assert.deepEqual(typed(expiry, keys), { value: shown, caret: shown.length },
      `typing ${JSON.stringify(keys)}`);
  }
  // A 1 typed at caret 1 of 12/34 used to give 11/234: refused, nothing moves.
  assert.deepEqual(field(expiry).type('1234').caretAt(1).type('1').state,
    { value: '12/34', caret: 1 });
  assert.deepEqual(field(expiry).type('1234').caretAt(0).type('0').state,
    { value: '12/34', caret: 0 });
  assert.deepEqual(field(expiry).type('122034').caretAt(4).type('1').state,
    { value: '12/2034', caret: 4 });
  // A digit that fits still goes in front of the slash: the month's digits move on.
  assert.deepEqual(field(expiry).type('123').caretAt(1).type('0').state,
    { value: '10/23', caret: 3 }); // past the slash, as after any second month digit
  // Replacing the selected year keeps room for the new one.
  assert.deepEqual(field(expiry).type('1234').select(3, 5).type('2').type('9').state,
    { value: '12/29', caret: 5 });
  // A paste that is too long: what fits goes in, the caret after it.
  assert.deepEqual(field(expiry).paste('12/34567').state, { value: '12/34', caret: 5 });
  assert.deepEqual(field(expiry).type('12/').paste('203456').state,
    { value: '12/2034', caret: 7 });
});

test('expiry: the caret goes past the slash, so the next digit is never dropped', () => {
  const f = field(fields.formatExpiry).type('12');
  assert.deepEqual(f.state, { value: '12/', caret: 3 });
  f.type('3');
  assert.deepEqual(f.state, { value: '12/3', caret: 4 });
  // Even typed in front of the slash, a digit moves on to the year instead of vanishing.
  const front = field(fields.formatExpiry, '12/', 2).type('3').state;
  assert.deepEqual(front, { value: '12/3', caret: 4 });
});

test('expiry: backspace over the slash, one character at a time', () => {
  const f = field(fields.formatExpiry).type('1234');
  const seen = [];
  for (let i = 0; i < 5; i++) {
    f.backspace();
    seen.push({ ...f.state });
  }
  assert.deepEqual(seen, [
    { value: '12/3', caret: 4 },
    { value: '12/', caret: 3 },
    { value: '12', caret: 2 },
    { value: '1', caret: 1 },
    { value: '', caret: 0 },
  ]);
  // Typing again after deleting the slash brings it back.
  assert.deepEqual(field(fields.formatExpiry).type('12').backspace().type('3').state,
    { value: '12/3', caret: 4 });
});

test('expiry: deleting next to the slash in the middle deletes a digit, never nothing', () => {
  // Caret just after the slash of "12/34": Backspace deletes the 2, the slash stays.
  const back = field(fields.formatExpiry).type('1234').caretAt(3).backspace();
  assert.deepEqual(back.state, { value: '1/34', caret: 1 });
  back.type('1');
  assert.deepEqual(back.state, { value: '11/34', caret: 3 });
  // Caret just before the slash: Delete removes the 3.
  const forward = field(fields.formatExpiry).type('1234').caretAt(2).del();
  assert.deepEqual(forward.state, { value: '12/4', caret: 2 });
});

test('expiry: paste and autofill give whole values in any of the usual shapes', () => {
  for (const [text, shown] of [
    ['12/34', '12/34'], ['12 / 2034', '12/2034'], ['1/2034', '01/2034'], ['1234', '12/34'],
    [' 07 / 31 ', '07/31'],
  ]) {
    assert.deepEqual(field(fields.formatExpiry).paste(text).state,
      { value: shown, caret: shown.length }, `paste ${JSON.stringify(text)}`);
    // Autofill sets the value with no inputType.
    assert.equal(fields.formatExpiry(text, text.length, { inputType: '', previous: '' }).value,
      shown, `autofill ${JSON.stringify(text)}`);
  }
  assert.equal(fields.expiryFromParts('12', '2034'), '12/2034');
  assert.equal(fields.expiryFromParts('1', '34'), '01/34');
  assert.equal(fields.expiryFromParts('07', ''), '');
  assert.equal(fields.expiryFromParts('', '2031'), '');
});

test('full-width digits from IME keyboards count as digits: card number, expiry, CVV', () => {
  assert.deepEqual(typed(fields.formatCardNumber, '４２４２４２４２４２４２４２４２'),
    { value: '4242 4242 4242 4242', caret: 19 });
  assert.deepEqual(field(fields.formatCardNumber).paste('４２４２　４２４２').state,
    { value: '4242 4242', caret: 9 });
  assert.deepEqual(field(fields.formatCardNumber).type('4242').caretAt(2).type('９').state,
    { value: '4294 2', caret: 3 });
  assert.deepEqual(typed(fields.formatExpiry, '１２３４'), { value: '12/34', caret: 5 });
  assert.deepEqual(typed(fields.formatExpiry, '１２／２０３４'), { value: '12/2034', caret: 7 });
  assert.deepEqual(field(fields.formatExpiry).paste('１２／３４').state, { value: '12/34', caret: 5 });
  assert.deepEqual(typed(fields.formatCvv, '１２３'), { value: '123', caret: 3 });
  assert.deepEqual(field(fields.formatCvv).paste('１２３４').state, { value: '1234', caret: 4 });
});

test('cvv: digits only, at most four', () => {
  assert.deepEqual(typed(fields.formatCvv, '123'), { value: '123', caret: 3 });
  assert.deepEqual(typed(fields.formatCvv, '1234'), { value: '1234', caret: 4 });
  assert.deepEqual(typed(fields.formatCvv, '12345'), { value: '1234', caret: 4 });
  assert.deepEqual(typed(fields.formatCvv, '1a2 3'), { value: '123', caret: 3 });
  // A fifth digit typed in front is refused: it used to push the last digit out.
  assert.deepEqual(field(fields.formatCvv).type('1234').caretAt(0).type('5').state,
    { value: '1234', caret: 0 });
});

test('UPI ID: whitespace at the ends goes; whitespace inside stays in sight', () => {
  const vpa = fields.formatVpa;
  // Leading whitespace goes as it is typed.
  assert.deepEqual(typed(vpa, '  asha@okaxis'), { value: 'asha@okaxis', caret: 11 });
  // A space typed inside stays, so the person sees it (the page refuses it at Pay): it was
  // silently removed, and "success @okaxis" was paid as "success@okaxis".
  assert.deepEqual(typed(vpa, 'success @okaxis'), { value: 'success @okaxis', caret: 15 });
  assert.deepEqual(field(vpa).type('name@bank').caretAt(4).type(' ').state,
    { value: 'name @bank', caret: 5 });
  // A trailing space stays while typing: it may be the space before the next word (removing it
  // at the keystroke would hide a space typed inside the same way); Pay trims it.
  assert.deepEqual(typed(vpa, 'success@okbank '), { value: 'success@okbank ', caret: 15 });
  assert.deepEqual(field(vpa).type('ab cd').backspace(2).state, { value: 'ab ', caret: 3 });
  // Runs of whitespace show as one space; the caret keeps its place.
  assert.deepEqual(typed(vpa, 'a  \tb'), { value: 'a b', caret: 3 });
  assert.deepEqual(field(vpa).type('ab').caretAt(1).type('  ').state, { value: 'a b', caret: 2 });
});

test('UPI ID: paste, drop and autofill are trimmed at both ends, never joined across lines', () => {
  const vpa = fields.formatVpa;
  assert.deepEqual(field(vpa).paste('  name@bank  ').state, { value: 'name@bank', caret: 9 });
  assert.deepEqual(field(vpa).paste('\tsuccess@okaxis \r\n').state,
    { value: 'success@okaxis', caret: 14 });
  // Two lines stay two words, so the ID shown (and refused at Pay) is not one that was never
  // written: this used to become "success@okaxissecondline" and be paid.
  assert.deepEqual(field(vpa).paste('success@okaxis\nsecond line').state,
    { value: 'success@okaxis second line', caret: 26 });
  assert.deepEqual(field(vpa).paste(' name@bank ', 'insertFromDrop').state,
    { value: 'name@bank', caret: 9 });
  assert.deepEqual(field(vpa).autofill(' name@bank\n').state, { value: 'name@bank', caret: 9 });
  // Pasted into the middle: the whole value's ends are trimmed, the caret follows the paste.
  assert.deepEqual(field(vpa).type('name@').paste(' bank \n').state,
    { value: 'name@ bank', caret: 10 });
});

/** The rules every expiry shown obeys: MM/ with a month 0x or 1x (a first digit 2-9 is a
 * one-digit month; 00 and 13-19 stay as typed for Pay to refuse), a year of at most two digits
 * (four when it starts with 20), or a single month digit on the way. */
function assertExpiryRules(value, why) {
  const match = /^(\d{0,2})(?:\/(\d*))?$/.exec(value);
  assert.ok(match, `${why}: ${value}`);
  const [, month, year = ''] = match;
  if (month.length === 2) {
    assert.ok(month >= '00' && month <= '19', `${why}: month ${month}`);
  }
  assert.ok(year.length <= (year.startsWith('20') ? 4 : 2), `${why}: year ${year}`);
}

test('no digit is ever lost: every sequence of digits typed key by key', () => {
  // Every 5-digit expiry sequence: each key is either taken (its digit shown after those
  // before it; a 0 may pad a month 2-9) or refused with the field unchanged; what shows
  // obeys the rules; a valid MMYY is never refused.
  for (let n = 0; n < 100000; n++) {
    const keys = String(n).padStart(5, '0');
    const f = field(fields.formatExpiry);
    let taken = '';
    for (const key of keys) {
      const before = { ...f.state };
      f.type(key);
      if (f.state.value === before.value) {
        assert.deepEqual(f.state, before, `typing ${keys}: refused ${key} moved the caret`);
      } else {
        taken += key;
      }
      const digits = f.state.value.replace(/\D/g, '');
      // A 0 pads only a month that cannot have two digits (2-9): "13" read as "01/3" was a date
      // the person never typed.
      assert.ok(digits === taken || (digits === '0' + taken && taken[0] >= '2'),
        `typing ${keys} showed ${f.state.value}`);
      assert.equal(f.state.caret, f.state.value.length, `typing ${keys}: caret in ${f.state.value}`);
      assertExpiryRules(f.state.value, `typing ${keys}`);
    }
    const month = keys.slice(0, 2);
    if (month >= '01' && month <= '12') {
      const year = keys.slice(2, 4) === '20' ? keys.slice(2) : keys.slice(2, 4);
      assert.equal(f.state.value, `${month}/${year}`, `typing ${keys}`);
    }
  }
  for (let n = 0; n < 2000; n++) {
    const keys = String((n * 7919) % 1000003).repeat(4).slice(0, 8 + (n % 12));
    const { value, caret } = typed(fields.formatCardNumber, keys);
    assert.equal(value.replace(/\D/g, ''), keys.slice(0, 19)); // every network: up to 19
    assert.equal(caret, value.length);
  }
});

test('expiry: a digit typed anywhere is kept in order, or refused with nothing moved', () => {
  let seed = 11;
  const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  for (let round = 0; round < 5000; round++) {
    const f = field(fields.formatExpiry);
    const length = 1 + random(6);
    for (let i = 0; i < length; i++) f.type(String(random(10)));
    const before = { ...f.state };
    const at = random(before.value.length + 1);
    const key = String(random(10));
    f.caretAt(at).type(key);
    const old = before.value.replace(/\D/g, '');
    const index = before.value.slice(0, at).replace(/\D/g, '').length;
    const inserted = old.slice(0, index) + key + old.slice(index);
    const digits = f.state.value.replace(/\D/g, '');
    const why = `typing ${key} at ${at} of ${before.value} showed ${f.state.value}`;
    if (f.state.value === before.value) {
      assert.equal(f.state.caret, at, why);
    } else {
      assert.ok(digits === inserted || digits === '0' + inserted, why);
    }
    assertExpiryRules(f.state.value, why);
  }
});
