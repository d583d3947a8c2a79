/**
 * A one-line progress bar on stderr when it is a terminal; plain lines per epoch otherwise, so
 * logs and CI output stay readable.
 */
export interface Progress {
  update(label: string, fraction: number, detail: string): void;
  line(text: string): void;
  done(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let last = '';
  let lastPlain = '';
  return {
    update(label, fraction, detail) {
      const f = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 30;
        const fill = Math.round(f * width);
        const text = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}`;
        if (text !== last) stream.write(`\r${text.padEnd(last.length)}`);
        last = text;
      } else if (label !== lastPlain && f >= 1) {
        stream.write(`${label} ${detail}\n`);
        lastPlain = label;
      }
    },
    line(text) {
      if (tty && last) stream.write('\n');
      last = '';
      stream.write(text + '\n');
    },
    done() {
      if (tty && last) stream.write('\n');
      last = '';
    },
  };
}
