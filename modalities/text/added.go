package text

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of a tokenizer.json's "added_tokens".
type addedToken struct {
	ID         int32
	Content    string
	Special    bool
	SingleWord bool
	LStrip     bool
	RStrip     bool
	Normalized bool
}

// matcher finds added tokens in text: leftmost match first, and of the
// tokens that match there the longest, as Hugging Face's AddedVocabulary
// (Aho-Corasick, leftmost-longest) does.
type matcher struct {
	byFirst [256][]matchEntry // by first byte, longest first
}

type matchEntry struct {
	text string // what is matched (the content, normalised for normalised tokens)
	tok  *addedToken
}

func newMatcher(entries []matchEntry) *matcher {
	if len(entries) == 0 {
		return nil
	}
	m := &matcher{}
	for _, e := range entries {
		if e.text == "" {
			continue
		}
		m.byFirst[e.text[0]] = append(m.byFirst[e.text[0]], e)
	}
	for i := range m.byFirst {
		l := m.byFirst[i]
		sort.SliceStable(l, func(a, b int) bool { return len(l[a].text) > len(l[b].text) })
	}
	return m
}

// longestAt returns the longest entry matching s at i.
func (m *matcher) longestAt(s string, i int) *matchEntry {
	for k := range m.byFirst[s[i]] {
		e := &m.byFirst[s[i]][k]
		if strings.HasPrefix(s[i:], e.text) {
			return e
		}
	}
	return nil
}

// split cuts s at the added tokens it contains, calling piece with the
// (non-empty) text between them and id with each token's id, in order.
func (m *matcher) split(s string, piece func(string), id func(int32)) {
	if m == nil {
		if s != "" {
			piece(s)
		}
		return
	}
	done := 0 // s[:done] has been passed on
	for i := 0; i < len(s); {
		e := m.longestAt(s, i)
		if e == nil {
			i++
			continue
		}
		start, stop := i, i+len(e.text)
		t := e.tok
		if t.SingleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			i = stop // the match is skipped, as Aho-Corasick's next match starts after it
			continue
		}
		if t.LStrip {
			for start > done {
				r, w := utf8.DecodeLastRuneInString(s[done:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= w
			}
		}
		if t.RStrip {
			for stop < len(s) {
				r, w := utf8.DecodeRuneInString(s[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += w
			}
		}
		if start > done {
			piece(s[done:start])
		}
		id(t.ID)
		done, i = stop, stop
	}
	if done < len(s) {
		piece(s[done:])
	}
}

// isWordChar is the regex class \w (letters, marks, digits, connector
// punctuation, joiners) that single_word tokens must not touch.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}
