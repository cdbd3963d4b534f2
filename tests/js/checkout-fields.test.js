// Unit tests of sdk/checkout-fields.js (node --test tests/js): each case replays keys the way a
// browser applies them (insert at the caret or delete next to it, then the `input` event), so a
// formatter that loses a digit or moves the caret fails here before it reaches Chromium.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fields = require('../../sdk/checkout-fields.js');

/** A field as the browser holds it: the value, the caret, and the formatter on `input`. */
function field(format, value = '', caret = value.length) {
  const state = { value, caret };
  function apply(next, at, inputType) {
    const result = format(next, at, { inputType, previous: state.value });
    state.value = result.value;
    state.caret = result.caret;
  }
  return {
    state,
    type(text) {
      for (const ch of text) {
        const v = state.value;
        apply(v.slice(0, state.caret) + ch + v.slice(state.caret), state.caret + 1, 'insertText');
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
    paste(text) {
      const v = state.value;
      apply(v.slice(0, state.caret) + text + v.slice(state.caret), state.caret + text.length,
        'insertFromPaste');
      return this;
    },
    caretAt(position) {
      state.caret = position;
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

test('cvv: digits only, at most four', () => {
  assert.deepEqual(typed(fields.formatCvv, '123'), { value: '123', caret: 3 });
  assert.deepEqual(typed(fields.formatCvv, '1234'), { value: '1234', caret: 4 });
  assert.deepEqual(typed(fields.formatCvv, '12345'), { value: '1234', caret: 4 });
  assert.deepEqual(typed(fields.formatCvv, '1a2 3'), { value: '123', caret: 3 });
});

test('UPI ID: spaces go, wherever they come from; the caret keeps its place', () => {
  assert.deepEqual(typed(fields.formatVpa, 'success@okbank '), { value: 'success@okbank', caret: 14 });
  assert.deepEqual(typed(fields.formatVpa, ' asha @ okaxis'), { value: 'asha@okaxis', caret: 11 });
  assert.deepEqual(field(fields.formatVpa).paste('  name@bank  ').state,
    { value: 'name@bank', caret: 9 });
  assert.deepEqual(field(fields.formatVpa).type('name@bank').caretAt(4).type(' ').state,
    { value: 'name@bank', caret: 4 });
});

test('no digit is ever lost: every sequence of digits typed key by key', () => {
  // All 4-digit expiry sequences and many card numbers: the digits shown are the digits typed
  // (plus the 0 that pads a one-digit month), in order, and the caret is at the end.
  for (let n = 0; n < 10000; n++) {
    const keys = String(n).padStart(4, '0');
    const { value, caret } = typed(fields.formatExpiry, keys);
    const digits = value.replace(/\D/g, '');
    const expected = keys.charAt(0) > '1' ? '0' + keys : keys;
    assert.equal(digits, expected.slice(0, 6), `typing ${keys} showed ${value}`);
    assert.equal(caret, value.length, `typing ${keys}: caret ${caret} in ${value}`);
  }
  for (let n = 0; n < 2000; n++) {
    const keys = String((n * 7919) % 1000003).repeat(4).slice(0, 8 + (n % 12));
    const { value, caret } = typed(fields.formatCardNumber, keys);
    const longest = /^3[47]/.test(keys) ? 15 : 19; // American Express numbers have 15 digits
    assert.equal(value.replace(/\D/g, ''), keys.slice(0, longest));
    assert.equal(caret, value.length);
  }
});
