package seed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options are the checks Parse borrows from the servers, so that a policy that would not
// load stops the start before anything is applied.
type Options struct {
	// Dir is the directory relative file paths are read from; "" = the current directory.
	// ReadFile sets it to the seed file's directory.
	Dir string
	// VaultPolicy checks a Vault ACL policy (the appliance passes embeddedvault.ParsePolicy);
	// nil = not checked.
	VaultPolicy func(policy string) error
}

// ReadFile reads and parses the seed file name; relative paths in it are relative to its
// directory.
func ReadFile(name string, opt Options) (*Seed, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if opt.Dir == "" {
		opt.Dir = filepath.Dir(name)
	}
	return Parse(name, data, opt)
}

// Parse parses and checks a seed file. The error names every problem, each as
// "file:line:column: path.in.file: what is wrong", joined with errors.Join.
func Parse(file string, data []byte, opt Options) (*Seed, error) {
	p := &parser{file: file, opt: opt, s: &Seed{File: file}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return p.s, nil // an empty file seeds nothing
	}
	p.mapping(doc.Content[0], "", fields{
		"vault":   p.vault,
		"kes":     p.kes,
		"s3":      p.s3,
		"console": func(n *yaml.Node, path string) { p.s.Console = p.boolean(n, path) },
	})
	p.crossChecks()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.s, nil
}

// pos is where an item starts in the file, for messages that point back at it.
type pos struct{ line, col int }

func (q pos) String() string { return fmt.Sprintf("line %d", q.line) }

type parser struct {
	file string
	opt  Options
	s    *Seed
	errs []error
}

type fields map[string]func(n *yaml.Node, path string)

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	where := p.file + ":" + strconv.Itoa(n.Line) + ":" + strconv.Itoa(n.Column) + ": "
	if path != "" {
		where += path + ": "
	}
	p.errs = append(p.errs, errors.New(where+fmt.Sprintf(format, args...)))
}

func at(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// node refuses aliases: a seed file has no use for them, and expanding them is how a small
// file becomes a huge one.
func (p *parser) node(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, path, "aliases are not supported in a seed file")
		return false
	}
	return true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a " + strings.TrimPrefix(n.Tag, "!!")
}

// mapping walks a mapping node, calling f's function for each known key; an unknown or
// repeated key is an error.
func (p *parser) mapping(n *yaml.Node, path string, f fields) {
	if !p.node(n, path) {
		return
	}
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" && path != "" {
			return // "vault:" with nothing under it
		}
		p.errorf(n, path, "want a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		fn, ok := f[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, path, "a key must be a string")
		case !ok:
			p.errorf(k, kp, "unknown key (want %s)", keyList(f))
		case seen[k.Value]:
			p.errorf(k, kp, "repeated key")
		default:
			seen[k.Value] = true
			fn(v, kp)
		}
	}
}

func keyList(f fields) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// list walks a sequence node.
func (p *parser) list(n *yaml.Node, path string, fn func(n *yaml.Node, path string)) {
	if !p.node(n, path) || n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "want a list, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		fn(item, fmt.Sprintf("%s[%d]", path, i))
	}
}

// str returns a scalar's text; numbers are taken as written.
func (p *parser) str(n *yaml.Node, path string) string {
	if !p.node(n, path) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		p.errorf(n, path, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, path string) []string {
	var out []string
	p.list(n, path, func(n *yaml.Node, path string) { out = append(out, p.str(n, path)) })
	return out
}

func (p *parser) boolean(n *yaml.Node, path string) *bool {
	var b bool
	if !p.node(n, path) {
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, path, "want true or false, got %s", kindName(n))
		return nil
	}
	return &b
}

// required reports a missing key of an item that starts at n.
func (p *parser) required(n *yaml.Node, path, key, value string) {
	if value == "" && n.Kind == yaml.MappingNode {
		p.errorf(n, path, "%s is required", key)
	}
}

// file reads a file named in the seed, relative to Options.Dir.
func (p *parser) readFile(n *yaml.Node, path, name string) []byte {
	if name == "" {
		return nil
	}
	full := name
	if !filepath.IsAbs(full) && p.opt.Dir != "" {
		full = filepath.Join(p.opt.Dir, name)
	}
	b, err := os.ReadFile(full)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p.errorf(n, path, "file %q does not exist", name)
	case err != nil:
		p.errorf(n, path, "file %q: %v", name, errors.Unwrap(err))
	}
	return b
}

// unique reports a name that an earlier item of the same list has already.
type unique struct {
	what string
	seen map[string]pos
}

func (p *parser) unique(u *unique, n *yaml.Node, path, name string) {
	if name == "" {
		return
	}
	if u.seen == nil {
		u.seen = map[string]pos{}
	}
	if first, ok := u.seen[name]; ok {
		p.errorf(n, path, "duplicate %s %q (first at %s)", u.what, name, first)
		return
	}
	u.seen[name] = at(n)
}

// valueNode returns the value node of key in mapping n, or nil.
func valueNode(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// keyNode is the node to point at for key of item n: its value if present, else n.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if v := valueNode(n, key); v != nil {
		return v
	}
	return n
}
