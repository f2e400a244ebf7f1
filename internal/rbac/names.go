package rbac

import (
	"fmt"
	"strings"

	"github.com/milvago/milvago/internal/errs"
)

// Milvus's proxy limits (proxy.minPasswordLength, maxPasswordLength,
// maxUsernameLength, maxNameLength).
const (
	MinPasswordLength = 6
	MaxPasswordLength = 72 // bcrypt's limit
	MaxUsernameLength = 32
	maxNameLength     = 255
)

func isAlpha(c byte) bool  { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNumber(c byte) bool { return c >= '0' && c <= '9' }

func invalidMsg(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errs.ErrParameterInvalid)
}

// ValidateUsername is Milvus's ValidateUsername.
func ValidateUsername(username string) error {
	username = strings.TrimSpace(username)
	if username == "" {
		return invalidMsg("username must be not empty")
	}
	if len(username) > MaxUsernameLength {
		return invalidMsg("invalid username %s with length %d, the length of username must be less than %d", username, len(username), MaxUsernameLength)
	}
	if !isAlpha(username[0]) {
		return invalidMsg("invalid user name %s, the first character must be a letter, but got %s", username, string(username[0]))
	}
	for i := 1; i < len(username); i++ {
		c := username[i]
		if c != '_' && c != '-' && c != '.' && !isAlpha(c) && !isNumber(c) {
			return invalidMsg("invalid user name %s, username must contain only numbers, letters, underscores, dots, and hyphens, but got %s", username, string(c))
		}
	}
	return nil
}

// ValidatePassword is Milvus's ValidatePassword (length only).
func ValidatePassword(password string) error {
	if len(password) < MinPasswordLength || len(password) > MaxPasswordLength {
		return fmt.Errorf("invalid password length: %w", &errs.Error{Code: errs.ErrParameterInvalid.Code,
			Msg: fmt.Sprintf("%s[%d out of range %d <= value <= %d]", errs.ErrParameterInvalid.Msg, len(password), MinPasswordLength, MaxPasswordLength)})
	}
	return nil
}

// allowedChars is Milvus's proxy.nameValidation.allowedChars and
// proxy.roleNameValidation.allowedChars default.
const allowedChars = "$"

// validateName is Milvus's validateNameWithCustomChars.
func validateName(entity, nameType string) error {
	entity = strings.TrimSpace(entity)
	if entity == "" {
		return errs.InvalidParameterValue("not empty", entity, nameType+" should be not empty")
	}
	if len(entity) > maxNameLength {
		return invalidMsg("the length of %s must be not greater than limit %d, got %d", nameType, maxNameLength, len(entity))
	}
	if c := entity[0]; c != '_' && !isAlpha(c) {
		return errs.InvalidParameterValue('_', c, fmt.Sprintf("the first character of %s must be an underscore or letter", nameType))
	}
	for i := 1; i < len(entity); i++ {
		if c := entity[i]; c != '_' && !isAlpha(c) && !isNumber(c) && !strings.ContainsRune(allowedChars, rune(c)) {
			return invalidMsg("%s can only contain numbers, letters, underscores, and allowed characters (%s), found %c at %d", nameType, allowedChars, c, i)
		}
	}
	return nil
}

// ValidateRoleName is Milvus's ValidateRoleName.
func ValidateRoleName(name string) error { return validateName(name, "role name") }

// ValidateObjectName accepts "*" or a name.
func ValidateObjectName(name string) error {
	if name == Any {
		return nil
	}
	return validateName(name, "object name")
}

// ValidateObjectType checks an object type's spelling.
func ValidateObjectType(name string) error { return validateName(name, "ObjectType") }

// ValidatePrivilege accepts "*" or a name.
func ValidatePrivilege(name string) error {
	if name == Any {
		return nil
	}
	return validateName(name, "Privilege")
}

// ValidateCollectionName accepts "*" or a name.
func ValidateCollectionName(name string) error {
	if name == Any {
		return nil
	}
	return validateName(name, "collection name")
}

// ErrPrivilegeGroupInvalidName is merr's 1402.
var ErrPrivilegeGroupInvalidName = &errs.Error{Code: 1402, Msg: "invalid privilege group name"}

// ValidatePrivilegeGroupName is Milvus's ValidatePrivilegeGroupName.
func ValidatePrivilegeGroupName(name string) error {
	bad := func(msg string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(msg, args...), &errs.Error{Code: 1402, Msg: fmt.Sprintf("%s[privilegeGroup=%s]", ErrPrivilegeGroupInvalidName.Msg, name)})
	}
	if name == "" {
		return bad("privilege group name should not be empty")
	}
	if len(name) > maxNameLength {
		return bad("the length of a privilege group name %s must be less than %d characters", name, maxNameLength)
	}
	if c := name[0]; c != '_' && !isAlpha(c) {
		return bad("the first character of a privilege group name %s must be an underscore or letter", name)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlpha(c) && !isNumber(c) {
			return invalidMsg("privilege group name %s can only contain numbers, letters and underscores", name)
		}
	}
	return nil
}

// ValidateDatabaseName is Milvus's ValidateDatabaseName (the rules of
// validateName, with its own message).
func ValidateDatabaseName(name string) error {
	if err := validateName(name, "database name"); err != nil {
		return fmt.Errorf("%s: %w", err.Error(), errs.ErrDatabaseInvalidName)
	}
	return nil
}
