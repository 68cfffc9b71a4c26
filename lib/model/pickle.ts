/**
 * A restricted pickle virtual machine (protocols 0-5 opcodes that torch.save and Python's pickle emit for plain
 * data). It never executes code: GLOBAL/STACK_GLOBAL resolve only names the caller allows (`resolveGlobal`),
 * and REDUCE/NEWOBJ/BUILD call the caller's handlers. Anything else is a clear error naming the opcode and offset.
 */
import { FtgeoError } from "../util/errors";

/** A Python global reference such as torch._utils._rebuild_tensor_v2, as resolved by the caller. */
export type PyCallable = (args: unknown[]) => unknown;

export class PyGlobal {
  constructor(readonly module: string, readonly name: string, readonly call?: PyCallable) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A Python dict keeps insertion order and non-string keys: use a Map. */
export type PyDict = Map<unknown, unknown>;

export interface PickleHooks {
  /** Return a PyGlobal for allowed names; undefined means "not allowed" (an error is raised). */
  resolveGlobal(module: string, name: string): PyGlobal | undefined;
  /** BINPERSID / PERSID: torch's storage references. */
  persistentLoad(pid: unknown): unknown;
  /** BUILD: `obj.__setstate__(state)`; default: ignore the state (e.g. an OrderedDict's _metadata). */
  build?(obj: unknown, state: unknown): unknown;
}

const MARK = Symbol("mark");

export class PickleError extends FtgeoError {}

/** Unpickle one object from `data` starting at `start`; returns the object and the offset after STOP. */
export function unpickle(data: Uint8Array, hooks: PickleHooks, source: string, start = 0): { value: unknown; end: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  const fail = (msg: string): never => {
    throw new PickleError(`${source}: pickle at byte ${pos}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail(`data ends after ${buf.length} bytes, ${n} more needed (truncated pickle)`);
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const i32 = () => (need(4), (pos += 4), buf.readInt32LE(pos - 4));
  const u64 = () => {
    need(8);
    pos += 8;
    const v = buf.readBigUInt64LE(pos - 8);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} too large`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos));
  const line = () => {
    const e = buf.indexOf(0x0a, pos);
    if (e < 0) fail("unterminated text line");
    const s = buf.toString("latin1", pos, e);
    pos = e + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i] === MARK) {
        const items = stack.slice(i + 1);
        stack.length = i;
        return items;
      }
    }
    return fail("MARK not found");
  };
  const longFromBytes = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string) => {
    const g = hooks.resolveGlobal(module, name);
    if (!g) fail(`global ${module}.${name} is not allowed (not something torch.save writes for tensors and dicts)`);
    return g;
  };
  const call = (f: unknown, args: unknown, what: string) => {
    if (!(f instanceof PyGlobal) || !f.call) return fail(`${what} of ${f instanceof PyGlobal ? f.qualified : typeof f} is not supported`);
    if (!Array.isArray(args)) return fail(`${what} arguments are not a tuple`);
    return f.call(args);
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (!(d instanceof Map)) fail("SETITEM(S) on something that is not a dict");
    (d as PyDict).set(k, v);
  };

  for (;;) {
    const opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME (protocol 4): just a length prefix
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d: PyDict = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail("APPEND to something that is not a list");
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail("APPENDS to something that is not a list");
        (l as unknown[]).push(...items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail("ADDITEMS to something that is not a set");
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(longFromBytes(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFromBytes(bytes(u32())));
        break;
      case 0x49: {
        // INT (text): "I01\n" / "I00\n" are booleans in protocol 0
        const s = line();
        if (s === "01") stack.push(true);
        else if (s === "00") stack.push(false);
        else {
          const v = BigInt(s);
          stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        }
        break;
      }
      case 0x4c: {
        // LONG (text)
        const v = BigInt(line().replace(/L$/, ""));
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(buf.readDoubleBE(pos));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(parseFloat(line()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(bytes(u8()).toString("utf8"));
        break;
      case 0x58: // BINUNICODE
        stack.push(bytes(u32()).toString("utf8"));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(bytes(u64()).toString("utf8"));
        break;
      case 0x55: // SHORT_BINSTRING (py2 str)
        stack.push(bytes(u8()).toString("latin1"));
        break;
      case 0x54: // BINSTRING
        stack.push(bytes(i32()).toString("latin1"));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.from(bytes(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.from(bytes(u32())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Uint8Array.from(bytes(u64())));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape; good enough for ASCII names)
        stack.push(line());
        break;
      case 0x53: {
        // STRING (text, quoted)
        const s = line();
        stack.push(s.slice(1, -1));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(parseInt(line(), 10), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : parseInt(line(), 10);
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const f = pop();
        stack.push(call(f, args, "REDUCE"));
        break;
      }
      case 0x81: {
        // NEWOBJ cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, "NEWOBJ"));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = pop();
        stack.push(hooks.build ? hooks.build(obj, state) : obj);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(hooks.persistentLoad(line()));
        break;
      default:
        pos = opPos;
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")} (${JSON.stringify(String.fromCharCode(op))})`);
    }
  }
}
