/**
 * The live terminal view: on a terminal the block is redrawn in place; otherwise (CI, pipes,
 * tests) a compact line goes out every `plainEveryMs`, so logs stay readable.
 */
export interface LiveView {
  draw(lines: string[]): void;
  /** Leaves the last block on screen; later output goes below it. */
  finish(): void;
}

export function liveView(out: NodeJS.WriteStream = process.stdout, plainEveryMs = 15_000): LiveView {
  const tty = Boolean(out.isTTY);
  let drawn = 0;
  let lastPlain = 0;
  return {
    draw(lines) {
      if (tty) {
        const width = Math.max(40, (out.columns ?? 120) - 1);
        let s = drawn ? `\x1b[${drawn}A` : '';
        for (const l of lines) s += `\x1b[2K${l.length > width ? l.slice(0, width - 1) + '…' : l}\n`;
        out.write(s);
        drawn = lines.length;
      } else if (Date.now() - lastPlain >= plainEveryMs) {
        lastPlain = Date.now();
        out.write(lines.map((l) => l.trim()).filter(Boolean).slice(0, 1).concat(lines.slice(5, 6).map((l) => l.trim())).join(' | ') + '\n');
      }
    },
    finish() {
      drawn = 0;
    },
  };
}
