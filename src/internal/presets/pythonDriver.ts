/**
 * The read-eval-print loop that the `python` preset runs (`python3 -u -c <this> READY MORE`).
 *
 * Why not `python3 -i`: on pipes it prints its prompts on stderr while results go to stdout, so
 * the two arrive in no fixed order; it prompts (`... `) between the lines of a block sent in one
 * request, so a prompt shows up in the middle of a turn; and a block is only closed by an empty
 * line. This loop is the standard library's `code.InteractiveConsole` (the same compiler and
 * display rules as the interactive interpreter) with a different way of asking for input:
 *
 * - everything goes to stdout, tracebacks included, so output and prompts keep their order;
 * - it prints READY only when it has run all the input it was given (nothing is left in its
 *   buffer or in the pipe), so a request of several lines is one turn with one answer;
 * - when the input ends inside a block, it closes the block as an empty line would; if the
 *   statement is still incomplete (an open bracket), it prints MORE, which the framing reports
 *   as `IncompleteInput`;
 * - SIGINT (the pool's interrupt) drops the pending input and statement and prints READY again.
 *
 * It reads stdin with `os.read` and `select`, so it runs on POSIX systems only.
 * @internal
 */
export const pythonDriver = String.raw`
import code, os, select, sys

READY, MORE = sys.argv[1], sys.argv[2]
out = sys.stdout
out.reconfigure(encoding="utf-8", errors="backslashreplace")
sys.stderr = out
console = code.InteractiveConsole({"__name__": "__console__", "__doc__": None})
console.write = out.write
pending = b""


def more_input():
    return pending != b"" or bool(select.select([0], [], [], 0)[0])


def read_line():
    global pending
    while b"\n" not in pending:
        chunk = os.read(0, 65536)
        if not chunk:
            line, pending = pending, b""
            return line.decode("utf-8", "replace") if line else None
        pending += chunk
    line, _, pending = pending.partition(b"\n")
    return line.decode("utf-8", "replace").rstrip("\r")


incomplete = False
out.write(READY)
prompted = True
while True:
    try:
        if not prompted and not more_input():
            if incomplete:
                incomplete = console.push("")
            out.write(MORE if incomplete else READY)
            prompted = True
        line = read_line()
        if line is None:
            break
        prompted = False
        incomplete = console.push(line)
    except KeyboardInterrupt:
        console.resetbuffer()
        pending = b""
        incomplete = False
        out.write("\nKeyboardInterrupt\n" + READY)
        prompted = True
`
