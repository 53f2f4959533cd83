package zpl

import "strings"

// command is one ZPL command as written: its prefix ('^' or '~'), its
// mnemonic and the text up to the next prefix (parameters, or field data for
// ^FD and ^FX). Line and Col are 1-based positions of the prefix.
type command struct {
	prefix byte
	name   string
	params string
	off    int // byte offset of the prefix
	end    int // byte offset just past the parameters
	line   int
	col    int
}

func (c command) is(name string) bool { return c.prefix == '^' && c.name == name }

// String renders the command the way the ZPL guide names it, "^FO".
func (c command) String() string { return string(c.prefix) + c.name }

// lexer splits ZPL into commands; text between commands that is not
// whitespace is reported as stray.
type lexer struct {
	src  string
	pos  int
	line int
	col  int
}

type stray struct {
	text string
	off  int
}

// lex splits src into commands. Placeholders ("{{…}}") are kept inside the
// parameters they appear in; a "^" or "~" inside one does not end it.
func lex(src string) ([]command, []stray) {
	l := lexer{src: src, line: 1, col: 1}
	var cmds []command
	var strays []stray
	for l.pos < len(src) {
		c := src[l.pos]
		if c != '^' && c != '~' {
			start := l.pos
			for l.pos < len(src) && src[l.pos] != '^' && src[l.pos] != '~' {
				l.advance(1)
			}
			if t := strings.TrimSpace(src[start:l.pos]); t != "" {
				strays = append(strays, stray{text: t, off: start + strings.Index(src[start:l.pos], t)})
			}
			continue
		}
		cmd := command{prefix: c, off: l.pos, line: l.line, col: l.col}
		l.advance(1)
		cmd.name = l.mnemonic()
		start := l.pos
		for l.pos < len(src) {
			if strings.HasPrefix(src[l.pos:], "{{") {
				if end := strings.Index(src[l.pos:], "}}"); end >= 0 {
					l.advance(end + 2)
					continue
				}
			}
			if src[l.pos] == '^' || src[l.pos] == '~' {
				break
			}
			l.advance(1)
		}
		cmd.params = src[start:l.pos]
		cmd.end = l.pos
		cmds = append(cmds, cmd)
	}
	return cmds, strays
}

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		if l.src[l.pos] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.pos++
	}
}

// mnemonic reads a command name: two characters, except ^A followed by a
// font name (^A0, ^AB), where the font is the first parameter.
func (l *lexer) mnemonic() string {
	rest := l.src[l.pos:]
	if len(rest) == 0 {
		return ""
	}
	if upper(rest[0]) == 'A' && (len(rest) == 1 || rest[1] != '@') {
		l.advance(1)
		return "A"
	}
	n := min(2, len(rest))
	for i := 0; i < n; i++ {
		if rest[i] == '^' || rest[i] == '~' || rest[i] == '\n' || rest[i] == '\r' {
			n = i
			break
		}
	}
	name := strings.ToUpper(rest[:n])
	l.advance(n)
	return name
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// params splits a parameter string at commas, trimming line breaks, which
// the printer ignores.
func splitParams(p string) []string {
	p = stripNewlines(p)
	if p == "" {
		return nil
	}
	return strings.Split(p, ",")
}

func stripNewlines(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// param returns the i-th parameter, trimmed, or "" when absent.
func param(ps []string, i int) string {
	if i < len(ps) {
		return strings.TrimSpace(ps[i])
	}
	return ""
}
