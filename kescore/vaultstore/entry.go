package vaultstore

import (
	"fmt"
	"slices"
	"strings"
)

// The K/V layout of a key, shared by this package and the appliance's store over the embedded
// vault, so both keep keys exactly where and how real KES does: the record of key <name> is
// the string field <name> of the entry <engine>/<prefix>/<name>, i.e. {"<name>": "<record>"}.

// Entry returns the K/V data that holds record as key name: {"<name>": "<record>"}.
func Entry(name string, record []byte) map[string]any {
	return map[string]any{name: string(record)}
}

// Record returns the record of key name from the data of its K/V entry. An entry without a
// string field name is an error naming loc; it does not wrap kescore.ErrKeyNotFound, since
// the entry exists.
func Record(data map[string]any, loc, name string) ([]byte, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return nil, fmt.Errorf("vaultstore: %s: entry exists but has no field %q", loc, name)
	}
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("vaultstore: %s: field %q is not a string", loc, name)
	}
	return []byte(str), nil
}

// Names returns the key names of a K/V listing that start with prefix, sorted: sub-folders
// ("name/") are not keys. It never returns nil.
func Names(listed []string, prefix string) []string {
	names := []string{}
	for _, n := range listed {
		if !strings.HasSuffix(n, "/") && strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
