package expr

import (
	"strings"
	"testing"
)

// TestKeywordCase: Milvus 2.6's lexer spells keywords in lower or upper
// case only, and the null checks as single tokens ('is null', 'IS NOT
// NULL'); mixed spellings do not parse.
func TestKeywordCase(t *testing.T) {
	for _, ok := range []string{
		"i32 is null", "i32 IS NULL", "i32 is not null", "i32 IS NOT NULL",
		"id > 1 and id < 5", "id > 1 AND id < 5", "id in [1, 2]", "id IN [1, 2]",
		"not (id > 1)", "NOT (id > 1)", "b == true", "b == True", "b == TRUE", "b == False",
	} {
		if _, err := Parse(testSchema(), ok, nil); err != nil {
			t.Errorf("Parse(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"i32 is NOT NULL", "i32 IS not NULL", "i32 Is Null", "i32 is  null", "i32 is not  null",
		"id > 1 And id < 5", "id > 1 Or id > 2",
	} {
		_, err := Parse(testSchema(), bad, nil)
		if err == nil || !strings.Contains(err.Error(), "cannot parse expression") {
			t.Errorf("Parse(%s): %v, want a parse error", bad, err)
		}
	}
}
