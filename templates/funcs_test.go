package templates

import (
	"errors"
	"strings"
	"testing"
)

// consulTemplate033Funcs is consul-template 0.33's whole function map.
const consulTemplate033Funcs = `add base64Decode base64Encode base64URLDecode base64URLEncode byKey byMeta byTag caLeaf
caRoots connect contains containsAll containsAny containsNone containsNotAll datacenters divide env envOrDefault
executeTemplate explode explodeMap file hmacSHA256Hex in indent join key keyExists keyOrDefault loop ls maximum md5sum
mergeMap mergeMapWithOverride minimum modulo multiply mustEnv node nodes nomadService nomadServices nomadVar
nomadVarExists nomadVarList nomadVarListSafe parseBool parseFloat parseInt parseJSON parseUint parseYAML pkiCert plugin
regexMatch regexReplaceAll replaceAll safeLs safeTree scratch secret secrets service services sha256Hex sockaddr
spew_dump spew_printf spew_sdump spew_sprintf split splitToMap subtract timestamp toJSON toJSONPretty toLower toTOML
toTitle toUnescapedJSON toUnescapedJSONPretty toUpper toYAML tree trim trimPrefix trimSpace trimSuffix writeToFile
sprig_list`

// TestEveryConsulTemplateFunctionIsKnown: each of consul-template's
// functions either works or fails to parse with an error that names it and
// says Berth does not support it; never "no such function".
func TestEveryConsulTemplateFunctionIsKnown(t *testing.T) {
	supported := map[string]bool{}
	for _, n := range SupportedFuncs() {
		supported[n] = true
	}
	for _, fn := range strings.Fields(consulTemplate033Funcs) {
		_, err := Parse("t.tmpl", "\n{{ "+fn+" }}", Options{})
		if supported[fn] {
			if err != nil {
				t.Errorf("%s: supported but parse failed: %v", fn, err)
			}
			continue
		}
		var uf *UnsupportedFuncError
		if !errors.As(err, &uf) || uf.Func != fn || uf.Line != 2 || !strings.Contains(uf.Reason, "not supported by Berth") {
			t.Errorf("%s: err = %v, want an UnsupportedFuncError at line 2 saying Berth does not support it", fn, err)
		}
	}
	_, err := Parse("t.tmpl", "{{ nosuchfunc }}", Options{})
	if err == nil || !strings.Contains(err.Error(), `t.tmpl:1: function "nosuchfunc": no such function`) {
		t.Errorf("unknown function: err = %v", err)
	}
}
