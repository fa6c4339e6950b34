"""The guest's text screen: what its serial output looks like on an 80x25 display.

A deliberately small terminal: printable characters, CR, LF, backspace, and the clear-screen
sequence the shell's `clear` prints; other escape sequences are skipped. The VNC server draws it.
"""

import asyncio

COLUMNS = 80
ROWS = 25


class Screen:
    def __init__(self, columns=COLUMNS, rows=ROWS):
        self.columns, self.rows = columns, rows
        self.lines = [[" "] * columns for _ in range(rows)]
        self.row = self.column = 0
        self.version = 0  # bumped on every change; the VNC server compares it
        self._escape = ""
        self._changed = asyncio.Event()

    def text(self) -> list[str]:
        return ["".join(line) for line in self.lines]

    def write(self, data: bytes):
        if not data:
            return
        for ch in data.decode("utf-8", errors="replace"):
            self._put(ch)
        self.version += 1
        self._changed.set()

    async def changed_since(self, version):
        """Wait until the screen differs from `version`."""
        while self.version == version:
            self._changed.clear()
            await self._changed.wait()

    def _put(self, ch):
        if self._escape:
            self._escape += ch
            if len(self._escape) >= 2 and (self._escape[1] != "[" or ch.isalpha() or ch == "~"):
                if self._escape == "\x1b[2J":
                    self._clear()
                elif self._escape == "\x1b[H":
                    self.row = self.column = 0
                self._escape = ""
            return
        if ch == "\x1b":
            self._escape = ch
        elif ch == "\r":
            self.column = 0
        elif ch == "\n":
            self._line_feed()
        elif ch == "\b":
            self.column = max(0, self.column - 1)
        elif ch >= " ":
            if self.column >= self.columns:
                self.column = 0
                self._line_feed()
            self.lines[self.row][self.column] = ch
            self.column += 1

    def _line_feed(self):
        if self.row == self.rows - 1:
            self.lines.pop(0)
            self.lines.append([" "] * self.columns)
        else:
            self.row += 1

    def _clear(self):
        self.lines = [[" "] * self.columns for _ in range(self.rows)]
        self.row = self.column = 0

