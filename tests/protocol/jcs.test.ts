import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cardSigningInput } from '../../src/protocol/card-signature.js';
import { CanonicalizationError, canonicalize } from '../../src/protocol/jcs.js';

/** An IEEE 754 double from its 64 bits, as RFC 8785 Appendix B lists them. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 canonical JSON', () => {
  test('the example of §3.2.2 (literals, numbers, string escapes)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('members sort by UTF-16 code units (§3.2.3)', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    assert.equal(
      canonicalize(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('number serialization follows Appendix B', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of vectors) assert.equal(canonicalize(double(bits)), expected, `0x${bits}`);
  });

  test('NaN and Infinity (Appendix B) have no canonical form: refused, not written as null', () => {
    for (const bits of ['7fffffffffffffff', '7ff0000000000000']) {
      assert.throws(() => canonicalize({ value: double(bits) }), (error: unknown) => error instanceof CanonicalizationError && /\$\.value/.test(error.message));
    }
  });

  test('nesting, whitespace and arrays keep their order', () => {
    assert.equal(canonicalize({ b: [3, { z: 1, a: [] }], a: { y: 'x', c: {} } }), '{"a":{"c":{},"y":"x"},"b":[3,{"a":[],"z":1}]}');
  });

  test('undefined members are left out as JSON.stringify does; undefined elsewhere and non-JSON values are refused', () => {
    assert.equal(canonicalize({ a: undefined, b: 1 }), '{"b":1}');
    assert.throws(() => canonicalize([undefined]), CanonicalizationError);
    assert.throws(() => canonicalize({ a: () => 1 }), CanonicalizationError);
    assert.throws(() => canonicalize({ a: 1n }), CanonicalizationError);
    assert.throws(() => canonicalize({ a: new Date(0) }), CanonicalizationError);
  });

  test('lone surrogates (not I-JSON) are refused; a pair is kept as is', () => {
    assert.throws(() => canonicalize('\ud800'), CanonicalizationError);
    assert.throws(() => canonicalize({ '\udc00x': 1 }), CanonicalizationError);
    assert.equal(canonicalize('\ud83d\ude00'), '"\ud83d\ude00"');
  });
});

describe('the bytes a card signature covers', () => {
  test('signatures are excluded and empty members dropped, as in the example of A2A §8.4.1', () => {
    const card = {
      name: 'Example Agent',
      capabilities: { streaming: false, pushNotifications: false, extensions: [] },
      skills: [{ id: 's', tags: ['t'], examples: [] }],
      signatures: [{ protected: 'x', signature: 'y' }],
      securityRequirements: [{ schemes: { bearer: { list: [] } } }],
      provider: { organization: '', url: '' },
    };
    assert.equal(cardSigningInput(card), '{"capabilities":{"pushNotifications":false,"streaming":false},"name":"Example Agent","skills":[{"id":"s","tags":["t"]}]}');
  });

  test('a change to any signed member changes the input; signatures do not', () => {
    const card = { name: 'a', skills: [{ id: 's', tags: ['t'] }] };
    assert.notEqual(cardSigningInput(card), cardSigningInput({ ...card, name: 'b' }));
    assert.equal(cardSigningInput(card), cardSigningInput({ ...card, signatures: [{ protected: 'p', signature: 's' }] }));
  });

  test('a member named __proto__ (JSON allows it) is signed as a member, not taken for a prototype', () => {
    const card = JSON.parse('{"name":"x","__proto__":{"polluted":true},"signatures":[]}') as Record<string, unknown>;
    assert.equal(cardSigningInput(card), '{"__proto__":{"polluted":true},"name":"x"}');
  });
});
