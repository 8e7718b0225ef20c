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
var cacheMagic = []byte("berth-parse-cache v2\n")

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
		if k <= 0 || size > uint64(len(rest)-k) {
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

// Node flags: which optional parts follow a node's header.
const (
	hasAnchor = 1 << iota
	hasHead
	hasLine
	hasFoot
	hasAlias
	hasTag // a tag outside commonTags
)

// commonTags are written as their index, being most of every file's tags.
var commonTags = [...]string{"", "!!str", "!!map", "!!seq", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!merge"}

// encodeParsed writes a parsed file: its error (without the file name, so
// the entry serves the same bytes under any name), the number of nodes, then
// each document's nodes in pre-order. A node is its kind, style, flags, tag,
// value, position, number of children, then the optional anchor, comments
// and alias (the index of its anchor, which yaml places, complete, before).
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
	nodes := 0
	var count func(n *yaml.Node)
	count = func(n *yaml.Node) {
		nodes++
		for _, c := range n.Content {
			count(c)
		}
	}
	for _, d := range p.docs {
		count(d)
	}
	num(nodes)
	num(len(p.docs))
	index := map[*yaml.Node]int{}
	done := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Line < 0 || n.Column < 0 || n.Kind > 0xff || n.Style > 0xff {
			return errNotCacheable
		}
		if _, seen := index[n]; seen {
			return errNotCacheable // a node shared by two parents
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
			alias = i
		}
		index[n] = len(index)
		tag := slices.Index(commonTags[:], n.Tag)
		var flags byte
		for _, f := range []struct {
			bit byte
			on  bool
		}{{hasAnchor, n.Anchor != ""}, {hasHead, n.HeadComment != ""}, {hasLine, n.LineComment != ""},
			{hasFoot, n.FootComment != ""}, {hasAlias, n.Kind == yaml.AliasNode}, {hasTag, tag < 0}} {
			if f.on {
				flags |= f.bit
			}
		}
		b = append(b, byte(n.Kind), byte(n.Style), flags)
		if tag < 0 {
			str(n.Tag)
		} else {
			b = append(b, byte(tag))
		}
		str(n.Value)
		num(n.Line)
		num(n.Column)
		num(len(n.Content))
		if flags&hasAnchor != 0 {
			str(n.Anchor)
		}
		if flags&hasHead != 0 {
			str(n.HeadComment)
		}
		if flags&hasLine != 0 {
			str(n.LineComment)
		}
		if flags&hasFoot != 0 {
			str(n.FootComment)
		}
		if flags&hasAlias != 0 {
			num(alias)
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		done[n] = true
		return nil
	}
	for _, d := range p.docs {
		if err := walk(d); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// entryReader reads an entry; ok turns false at the first malformed part and
// every read after that returns zero values.
type entryReader struct {
	b   []byte
	src string // the entry as one string, so strings read are substrings
	ok  bool
}

func (r *entryReader) byte() byte {
	if len(r.b) == 0 {
		r.ok = false
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *entryReader) num() int {
	if len(r.b) > 0 && r.b[0] < 0x80 {
		v := r.b[0]
		r.b = r.b[1:]
		return int(v)
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 || v > 1<<40 {
		r.ok = false
		return 0
	}
	r.b = r.b[k:]
	return int(v)
}

func (r *entryReader) str() string {
	n := r.num()
	if !r.ok || n > len(r.b) {
		r.ok = false
		return ""
	}
	off := len(r.src) - len(r.b)
	r.b = r.b[n:]
	return r.src[off : off+n]
}

// decodeParsed reads what encodeParsed wrote, verifying its shape: every
// length in range, every alias pointing back at a complete node that does not
// contain it, so a foreign entry can never build a cycle.
func decodeParsed(name string, b []byte) (parsed, error) {
	bad := errors.New("parse cache: malformed entry")
	r := &entryReader{b: b, src: string(b), ok: true}
	out := parsed{name: name}
	switch r.byte() {
	case 0:
	case 1:
		e := &Error{File: name}
		e.Line = r.num()
		e.Col = r.num()
		e.Field = r.str()
		e.Message = r.str()
		out.err = e
	default:
		return out, bad
	}
	total, ndocs := r.num(), r.num()
	// Every node takes at least 7 bytes, every document one node.
	if !r.ok || total > len(r.b)/7 || ndocs > total {
		return out, bad
	}
	slab := make([]yaml.Node, total)
	nodes := make([]*yaml.Node, 0, total)
	done := make([]bool, 0, total) // done[i]: node i's subtree is complete
	readNode := func() (*yaml.Node, int, bool) {
		if len(nodes) == len(slab) {
			return nil, 0, false
		}
		n := &slab[len(nodes)]
		kind, style, flags := yaml.Kind(r.byte()), yaml.Style(r.byte()), r.byte()
		if flags&hasTag != 0 {
			n.Tag = r.str()
		} else if t := int(r.byte()); t < len(commonTags) {
			n.Tag = commonTags[t]
		} else {
			return nil, 0, false
		}
		n.Value = r.str()
		n.Line, n.Column = r.num(), r.num()
		count := r.num()
		if flags&hasAnchor != 0 {
			n.Anchor = r.str()
		}
		if flags&hasHead != 0 {
			n.HeadComment = r.str()
		}
		if flags&hasLine != 0 {
			n.LineComment = r.str()
		}
		if flags&hasFoot != 0 {
			n.FootComment = r.str()
		}
		alias := -1
		if flags&hasAlias != 0 {
			alias = r.num()
		}
		if !r.ok || flags >= hasTag<<1 || count > total {
			return nil, 0, false
		}
		switch kind {
		case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode, yaml.ScalarNode:
			if alias >= 0 {
				return nil, 0, false
			}
		case yaml.AliasNode:
			i := len(nodes)
			if alias < 0 || alias >= i || !done[alias] || nodes[alias].Kind == yaml.AliasNode || count != 0 {
				return nil, 0, false
			}
			n.Alias = nodes[alias]
		default:
			return nil, 0, false
		}
		n.Kind, n.Style = kind, style
		nodes = append(nodes, n)
		done = append(done, false)
		return n, count, true
	}
	// Subtrees are read with an explicit stack, so that a deep entry cannot
	// exhaust the goroutine's.
	type frame struct {
		n    *yaml.Node
		i    int
		left int
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
			if top.n.Content == nil {
				top.n.Content = make([]*yaml.Node, 0, top.left)
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
	if len(r.b) != 0 || len(nodes) != total {
		return out, bad
	}
	return out, nil
}
