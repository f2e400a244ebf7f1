package session

import "strings"

// LabelPrefix starts the environment variables that label a server
// (Milvus's sessionutil.SupportedLabelPrefix).
const LabelPrefix = "MILVUS_SERVER_LABEL_"

// LabelsFromEnv is Milvus's getServerLabelsFromEnv: the server labels of a
// process of role from environ ("KEY=value" entries).
// MILVUS_SERVER_LABEL_<label>=v labels every role; MILVUS_SERVER_LABEL_
// <role>_<label>=v (role also as its short name: coord, qn, dn, sn) only
// that role, and wins over the former. nil when there is none.
func LabelsFromEnv(role string, environ []string) map[string]string {
	general, own := map[string]string{}, map[string]string{}
	for _, kv := range environ {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		forRole, label, ok := labelOfEnvKey(key)
		switch {
		case !ok:
		case forRole == "":
			general[label] = value
		case forRole == role:
			own[label] = value
		}
	}
	for k, v := range own {
		general[k] = v
	}
	if len(general) == 0 {
		return nil
	}
	return general
}

// labelOfEnvKey splits a label variable's name into the role it is for
// ("" every role) and the label.
func labelOfEnvKey(key string) (role, label string, ok bool) {
	rest, found := strings.CutPrefix(key, LabelPrefix)
	if !found || rest == "" {
		return "", "", false
	}
	parts := strings.Split(rest, "_")
	switch strings.ToLower(parts[0]) {
	case RoleMixCoord, "coord":
		role = RoleMixCoord
	case RoleQueryNode, "qn":
		role = RoleQueryNode
	case RoleDataNode, "dn":
		role = RoleDataNode
	case RoleStreamingNode, "sn":
		role = RoleStreamingNode
	case RoleProxy:
		role = RoleProxy
	default:
		return "", rest, true
	}
	if len(parts) == 1 {
		return "", "", false
	}
	return role, strings.Join(parts[1:], "_"), true
}
