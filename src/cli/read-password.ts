// The password prompt of the command-line tools: no echo on a terminal, all of stdin from a pipe.

/** Reads one password without echoing it on a terminal; from a pipe, reads all of stdin. */
export async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let password = '';
    const onData = (key: string) => {
      for (const char of key) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(password);
          return;
        }
        if (char === '\u0003') process.exit(130);
        // Backspace takes off one character, an emoji's two UTF-16 units together.
        password = char === '\u007f' ? Array.from(password).slice(0, -1).join('') : password + char;
      }
    };
    stdin.on('data', onData);
  });
}
