package manifests

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"gopkg.in/yaml.v3"
)

// ParseCache remembers how files were split into YAML documents, keyed by a
// SHA-256 of their bytes, so that a file whose bytes did not change is never
// parsed again: not across the two commits of a diff, nor (through ReadFrom
// and WriteTo) across runs. Only parsing is cached; decoding, normalisation
// and every check still run over the whole set, so a cached load returns
// exactly what Load returns. The cache does no I/O of its own: the caller
// decides where its bytes live. It is safe for concurrent use.
type ParseCache struct {
	mu sync.Mutex
	// old holds the entries read by ReadFrom; used those looked up or
	// added since, which are what WriteTo keeps.
	old, used map[[32]byte][]byte
	added     bool
}

// NewParseCache returns an empty cache.
func NewParseCache() *ParseCache {
	return &ParseCache{old: map[[32]byte][]byte{}, used: map[[32]byte][]byte{}}
}

// LoadCached is Load with parsing served from c where the bytes of a file
// were parsed before. A nil c is plain Load.
func LoadCached(fsys fs.FS, c *ParseCache) (*Set, error) {
	return load(fsys, c)
}

// The on-disk format: magic, then entries (key, uvarint length, payload),
// then a SHA-256 of everything before it. Any change to the payload encoding
// must change the magic, so an older cache is ignored, not misread.
var cacheMagic = []byte("berth-parse-cache v1\n")

// maxCacheEntry bounds one payload, so a hostile length cannot make ReadFrom
// allocate without limit before the checksum is seen.
const maxCacheEntry = 64 << 20

// Dirty reports whether files were parsed that the cache did not hold, that
// is, whether WriteTo would save something new.
func (c *ParseCache) Dirty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.added
}

// Len is the number of entries the cache holds.
func (c *ParseCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.used)
	for k := range c.old {
		if _, ok := c.used[k]; !ok {
			n++
		}
	}
	return n
}

// ReadFrom replaces the cache's stored entries with those in r. A stream that
// is truncated, corrupt, or of another format version is an error and leaves
// the cache as it was: a cache is never trusted, only verified.
func (c *ParseCache) ReadFrom(r io.Reader) (int64, error) {
	data, err := io.ReadAll(r)
	n := int64(len(data))
	if err != nil {
		return n, fmt.Errorf("read parse cache: %w", err)
	}
	entries, err := decodeCache(data)
	if err != nil {
		return n, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.old = entries
	return n, nil
}

func decodeCache(data []byte) (map[[32]byte][]byte, error) {
	if !bytes.HasPrefix(data, cacheMagic) {
		return nil, errors.New("parse cache: not a berth parse cache of this version")
	}
	if len(data) < len(cacheMagic)+sha256.Size {
		return nil, errors.New("parse cache: truncated")
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("parse cache: checksum mismatch")
	}
	entries := map[[32]byte][]byte{}
	rest := body[len(cacheMagic):]
	for len(rest) > 0 {
		if len(rest) < 32 {
			return nil, errors.New("parse cache: truncated entry")
		}
		var key [32]byte
		copy(key[:], rest)
		rest = rest[32:]
		size, k := binary.Uvarint(rest)
		if k <= 0 || size > maxCacheEntry || size > uint64(len(rest)-k) {
			return nil, errors.New("parse cache: bad entry length")
		}
		rest = rest[k:]
		entries[key] = rest[:size:size]
		rest = rest[size:]
	}
	return entries, nil
}

// WriteTo writes the entries looked up or added since the cache was made, in
// a stable order. Entries read but not used are dropped, so a cache kept by
// CI holds what the latest run needed and does not grow without bound.
func (c *ParseCache) WriteTo(w io.Writer) (int64, error) {
	c.mu.Lock()
	keys := make([][32]byte, 0, len(c.used))
	for k := range c.used {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	var n int64
	write := func(b []byte) {
		m, _ := bw.Write(b) // the first error is reported by Flush
		n += int64(m)
	}
	write(cacheMagic)
	for _, k := range keys {
		write(k[:])
		write(binary.AppendUvarint(nil, uint64(len(c.used[k]))))
		write(c.used[k])
	}
	c.mu.Unlock()
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write parse cache: %w", err)
	}
	m, err := w.Write(h.Sum(nil))
	n += int64(m)
	if err != nil {
		return n, fmt.Errorf("write parse cache: %w", err)
	}
	return n, nil
}

// parse is parseFile through the cache.
func (c *ParseCache) parse(name string, data []byte, isJSON bool) parsed {
	h := sha256.New()
	if isJSON {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	h.Write(data)
	var key [32]byte
	h.Sum(key[:0])

	c.mu.Lock()
	payload, ok := c.used[key]
	if !ok {
		payload, ok = c.old[key]
	}
	c.mu.Unlock()
	if ok {
		if p, err := decodeParsed(name, payload); err == nil {
			c.remember(key, payload, false)
			return p
		}
		// A damaged entry is parsed afresh and replaced below.
	}
	p := parseFile(name, data, isJSON)
	if payload, err := encodeParsed(p); err == nil {
		c.remember(key, payload, true)
	}
	return p
}

func (c *ParseCache) remember(key [32]byte, payload []byte, added bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.used[key]; !ok {
		c.used[key] = payload
		c.added = c.added || added
	}
}

var errNotCacheable = errors.New("parse cache: documents cannot be cached")

// encodeParsed writes a parsed file: its error (without the file name, so
// the entry serves the same bytes under any name), then its documents' nodes
// in pre-order. An alias is written as the index of its anchor, which yaml
// always places, complete, before the alias.
func encodeParsed(p parsed) ([]byte, error) {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(v int) { b = binary.AppendUvarint(b, uint64(v)) }
	if p.err != nil {
		b = append(b, 1)
		num(p.err.Line)
		num(p.err.Col)
		str(p.err.Field)
		str(p.err.Message)
	} else {
		b = append(b, 0)
	}
	index := map[*yaml.Node]int{}
	done := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Line < 0 || n.Column < 0 {
			return errors.New("negative position")
		}
		alias := 0
		if n.Kind == yaml.AliasNode {
			i, ok := index[n.Alias]
			if !ok || !done[n.Alias] || n.Alias.Kind == yaml.AliasNode || len(n.Content) > 0 {
				// yaml does build an anchor that contains its own alias; the
				// decoder's budget copes, but the entry reader refuses cycles,
				// so such a file is simply parsed every time.
				return errNotCacheable
			}
			alias = i + 1
		}
		if _, seen := index[n]; seen {
			return errNotCacheable // a node shared by two parents
		}
		index[n] = len(index)
		num(int(n.Kind))
		num(int(n.Style))
		str(n.Tag)
		str(n.Value)
		str(n.Anchor)
		str(n.HeadComment)
		str(n.LineComment)
		str(n.FootComment)
		num(n.Line)
		num(n.Column)
		num(alias)
		num(len(n.Content))
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		done[n] = true
		return nil
	}
	num(len(p.docs))
	for _, d := range p.docs {
		if err := walk(d); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// decodeParsed reads what encodeParsed wrote, verifying its shape: every
// length in range, every alias pointing back at a complete node that does not
// contain it, so a foreign entry can never build a cycle.
func decodeParsed(name string, b []byte) (parsed, error) {
	bad := errors.New("parse cache: malformed entry")
	num := func() (int, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<40 {
			return 0, false
		}
		b = b[k:]
		return int(v), true
	}
	str := func() (string, bool) {
		n, ok := num()
		if !ok || n > len(b) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	out := parsed{name: name}
	if len(b) == 0 || b[0] > 1 {
		return out, bad
	}
	hasErr := b[0] == 1
	b = b[1:]
	if hasErr {
		e := &Error{File: name}
		var ok1, ok2, ok3, ok4 bool
		e.Line, ok1 = num()
		e.Col, ok2 = num()
		e.Field, ok3 = str()
		e.Message, ok4 = str()
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return out, bad
		}
		out.err = e
	}
	ndocs, ok := num()
	if !ok || ndocs > len(b) {
		return out, bad
	}
	var nodes []*yaml.Node
	var done []bool // done[i]: node i's subtree is complete
	// node reads one node and its subtree, iteratively so that a deep
	// entry cannot exhaust the stack.
	type frame struct {
		n    *yaml.Node
		i    int
		left int
	}
	readNode := func() (*yaml.Node, int, bool) {
		n := &yaml.Node{}
		var f [12]int
		var s [6]string
		var ok bool
		if f[0], ok = num(); !ok {
			return nil, 0, false
		}
		if f[1], ok = num(); !ok {
			return nil, 0, false
		}
		for i := range s {
			if s[i], ok = str(); !ok {
				return nil, 0, false
			}
		}
		for i := 2; i < 6; i++ {
			if f[i], ok = num(); !ok {
				return nil, 0, false
			}
		}
		kind, alias, count := f[0], f[4], f[5]
		switch yaml.Kind(kind) {
		case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode, yaml.ScalarNode, yaml.AliasNode:
		default:
			return nil, 0, false
		}
		if count > len(b) || f[1] > 1<<16 {
			return nil, 0, false
		}
		n.Kind, n.Style = yaml.Kind(kind), yaml.Style(f[1])
		n.Tag, n.Value, n.Anchor = s[0], s[1], s[2]
		n.HeadComment, n.LineComment, n.FootComment = s[3], s[4], s[5]
		n.Line, n.Column = f[2], f[3]
		i := len(nodes)
		if n.Kind == yaml.AliasNode {
			t := alias - 1
			if alias == 0 || t >= i || !done[t] || nodes[t].Kind == yaml.AliasNode || count != 0 {
				return nil, 0, false
			}
			n.Alias = nodes[t]
		} else if alias != 0 {
			return nil, 0, false
		}
		nodes = append(nodes, n)
		done = append(done, false)
		return n, count, true
	}
	for range ndocs {
		root, count, ok := readNode()
		if !ok {
			return out, bad
		}
		stack := []frame{{root, len(nodes) - 1, count}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.left == 0 {
				done[top.i] = true
				stack = stack[:len(stack)-1]
				continue
			}
			top.left--
			c, count, ok := readNode()
			if !ok {
				return out, bad
			}
			top.n.Content = append(top.n.Content, c)
			stack = append(stack, frame{c, len(nodes) - 1, count})
		}
		out.docs = append(out.docs, root)
	}
	if len(b) != 0 {
		return out, bad
	}
	return out, nil
}
