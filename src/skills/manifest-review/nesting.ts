// How deep YAML text nests, found in one pass before the YAML parser sees it.
// The parser recurses once per level: a few thousand levels ("[[[[…",
// "- - - …", "{a: {a: …") overflow its stack, and an overflow that strikes while
// V8 compiles a regular expression aborts the whole process. The count is an
// upper bound (a bracket the parser would read as text may be counted), never
// an underestimate, and it costs one look at each character.

/** The first line (1-based) where `text` may nest collections deeper than `limit`, or undefined when it never does. */
export function findDeepNesting(text: string, limit: number): number | undefined {
  return new Scanner(text, limit).run();
}

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;

const isBlank = (c: number) => c === SPACE || c === TAB || c === LF || c === CR;

const SEQUENCE = 1;
const OTHER = 0;

class Scanner {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** The block nodes enclosing the current position: their columns, and whether each is a "- " entry. */
  private readonly columns: number[] = [];
  private readonly kinds: number[] = [];
  /** At the start of a node, where "- ", "? ", "[", "{", "|" and ">" mean structure rather than text. */
  private nodeStart = true;
  /** Open flow collections, and the block depth around the outermost one. */
  private flow = 0;
  private flowBase = 0;

  constructor(
    private readonly text: string,
    private readonly limit: number,
  ) {}

  run(): number | undefined {
    const { text } = this;
    let atLineStart = true;
    while (this.pos < text.length) {
      if (atLineStart) {
        atLineStart = false;
        if (this.flow === 0) this.startBlockLine();
        continue;
      }
      const c = text.charCodeAt(this.pos);
      if (c === LF) {
        this.line++;
        this.pos++;
        atLineStart = true;
        continue;
      }
      if (c === 35 /* # */ && (this.pos === 0 || isBlank(text.charCodeAt(this.pos - 1)))) {
        this.skipToLineEnd();
        continue;
      }
      const tooDeep = this.flow > 0 ? this.flowChar(c) : this.blockChar(c);
      if (tooDeep) return this.line;
    }
    return undefined;
  }

  /** Indentation, document markers and blank lines, at the start of a line outside flow collections. */
  private startBlockLine(): void {
    const { text } = this;
    this.lineStart = this.pos;
    const indent = this.spaces(this.pos);
    const first = this.pos + indent;
    this.nodeStart = true;
    this.pos = first;
    if (this.atLineEnd(first) || text.charCodeAt(first) === 35 /* # */) return;
    if (indent === 0 && (text.startsWith('---', first) || text.startsWith('...', first)) && this.blankOrEnd(first + 3)) {
      // A new document: nothing encloses what follows.
      this.columns.length = 0;
      this.kinds.length = 0;
      this.pos = first + 3;
      return;
    }
    // Nodes indented as deep as this line or deeper have ended (those at its column are settled by what starts there).
    this.closeFrom(indent + 1);
  }

  private blockChar(c: number): boolean {
    const { text } = this;
    const p = this.pos;
    const column = p - this.lineStart;
    if (c === SPACE || c === TAB || c === CR) {
      this.pos++;
      return false;
    }
    if (this.nodeStart) {
      if (c === 45 /* - */ && this.blankOrEnd(p + 1)) {
        // A "- " entry at the column of a mapping key is that key's value (a sequence need not be indented under it).
        this.closeFrom(column + 1);
        if (this.kinds.length > 0 && this.columns[this.columns.length - 1] === column && this.kinds[this.kinds.length - 1] === SEQUENCE) this.pop();
        this.pos++;
        return this.open(column, SEQUENCE);
      }
      if ((c === 63 /* ? */ || c === 58 /* : */) && this.blankOrEnd(p + 1)) {
        this.closeFrom(column);
        this.pos++;
        return this.open(column, OTHER);
      }
      this.closeFrom(column);
      if (c === 91 /* [ */ || c === 123 /* { */) {
        this.flow = 1;
        this.flowBase = this.columns.length;
        this.pos++;
        return this.flowBase + 1 > this.limit;
      }
      if (c === 124 /* | */ || c === 62 /* > */) {
        this.skipBlockScalar(this.columns.length === 0 ? -1 : this.columns[this.columns.length - 1]!);
        return false;
      }
      if (c === 38 /* & */ || c === 33 /* ! */ || c === 42 /* * */) {
        // An anchor, tag or alias: a token up to the next blank; a node may follow it.
        while (!this.atLineEnd(this.pos) && !isBlank(text.charCodeAt(this.pos))) this.pos++;
        return false;
      }
      this.nodeStart = false;
      if (c === 34 /* " */ || c === 39 /* ' */) this.skipQuoted();
      else this.pos++;
      return this.open(column, OTHER);
    }
    this.pos++;
    // "key: value": what follows is the key's value, a node of its own.
    if (c === 58 /* : */ && this.blankOrEnd(p + 1)) this.nodeStart = true;
    return false;
  }

  private flowChar(c: number): boolean {
    if (c === 34 /* " */ || c === 39 /* ' */) {
      this.skipQuoted();
      return false;
    }
    this.pos++;
    if (c === 91 /* [ */ || c === 123 /* { */) return this.flowBase + ++this.flow > this.limit;
    if (c === 93 /* ] */ || c === 125 /* } */) {
      this.flow--;
      // What follows on the line is block context again: "[a]: b", or a comment.
      if (this.flow === 0) this.nodeStart = false;
    }
    return false;
  }

  private open(column: number, kind: number): boolean {
    this.columns.push(column);
    this.kinds.push(kind);
    return this.columns.length > this.limit;
  }

  private pop(): void {
    this.columns.pop();
    this.kinds.pop();
  }

  /** Ends the nodes that start at `column` or further right. */
  private closeFrom(column: number): void {
    while (this.columns.length > 0 && this.columns[this.columns.length - 1]! >= column) this.pop();
  }

  /** Past a block scalar's header line and every content line (blank, or indented deeper than `nodeIndent`). */
  private skipBlockScalar(nodeIndent: number): void {
    const { text } = this;
    this.skipToLineEnd();
    while (this.pos < text.length) {
      const start = this.pos + 1;
      const indent = this.spaces(start);
      if (start >= text.length || (!this.atLineEnd(start + indent) && indent <= nodeIndent)) return;
      this.line++;
      this.pos = start + indent;
      this.skipToLineEnd();
    }
  }

  /** Past the quoted scalar starting here, which may span lines. */
  private skipQuoted(): void {
    const { text } = this;
    const quote = text.charCodeAt(this.pos);
    let p = this.pos + 1;
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c === LF) this.line++;
      if (quote === 34 && c === 92 /* \ */) {
        if (text.charCodeAt(p + 1) === LF) this.line++;
        p += 2;
        continue;
      }
      if (c === quote) {
        // '' is an escaped quote inside single quotes.
        if (quote === 39 && text.charCodeAt(p + 1) === 39) {
          p += 2;
          continue;
        }
        p++;
        break;
      }
      p++;
    }
    this.pos = p;
  }

  private skipToLineEnd(): void {
    while (this.pos < this.text.length && this.text.charCodeAt(this.pos) !== LF) this.pos++;
  }

  private spaces(p: number): number {
    let n = 0;
    while (this.text.charCodeAt(p + n) === SPACE) n++;
    return n;
  }

  private atLineEnd(p: number): boolean {
    if (p >= this.text.length) return true;
    const c = this.text.charCodeAt(p);
    return c === LF || (c === CR && (p + 1 >= this.text.length || this.text.charCodeAt(p + 1) === LF));
  }

  private blankOrEnd(p: number): boolean {
    return p >= this.text.length || isBlank(this.text.charCodeAt(p));
  }
}
