package rbac

import (
	"slices"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/errs"
)

// Built-in names.
const (
	RoleAdmin  = "admin"
	RolePublic = "public"
	UserRoot   = "root"
	Any        = "*"

	ObjectGlobal     = "Global"
	ObjectCollection = "Collection"
	ObjectUser       = "User"
	ObjectDatabase   = "Database"

	DefaultDB = "default"
)

// api turns a metastore privilege name (PrivilegeLoad, PrivilegeGroupAdmin)
// into its API name (Load, Admin), as Milvus's MetaStore2API.
func api(name string) string {
	if s, ok := strings.CutPrefix(name, "PrivilegeGroup"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(name, "Privilege"); ok {
		return s
	}
	return name
}

func apis(names ...commonpb.ObjectPrivilege) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = api(n.String())
	}
	return out
}

// objectPrivileges lists, per object type, the privileges a v1 grant may
// name (Milvus's util.ObjectPrivileges).
var objectPrivileges = map[string][]string{
	ObjectCollection: apis(commonpb.ObjectPrivilege_PrivilegeLoad, commonpb.ObjectPrivilege_PrivilegeRelease, commonpb.ObjectPrivilege_PrivilegeCompaction,
		commonpb.ObjectPrivilege_PrivilegeInsert, commonpb.ObjectPrivilege_PrivilegeDelete, commonpb.ObjectPrivilege_PrivilegeUpsert,
		commonpb.ObjectPrivilege_PrivilegeGetStatistics, commonpb.ObjectPrivilege_PrivilegeCreateIndex, commonpb.ObjectPrivilege_PrivilegeIndexDetail,
		commonpb.ObjectPrivilege_PrivilegeDropIndex, commonpb.ObjectPrivilege_PrivilegeSearch, commonpb.ObjectPrivilege_PrivilegeFlush,
		commonpb.ObjectPrivilege_PrivilegeQuery, commonpb.ObjectPrivilege_PrivilegeLoadBalance, commonpb.ObjectPrivilege_PrivilegeImport,
		commonpb.ObjectPrivilege_PrivilegeGetLoadingProgress, commonpb.ObjectPrivilege_PrivilegeGetLoadState,
		commonpb.ObjectPrivilege_PrivilegeCreatePartition, commonpb.ObjectPrivilege_PrivilegeDropPartition, commonpb.ObjectPrivilege_PrivilegeShowPartitions,
		commonpb.ObjectPrivilege_PrivilegeHasPartition, commonpb.ObjectPrivilege_PrivilegeGetFlushState,
		commonpb.ObjectPrivilege_PrivilegeGroupReadOnly, commonpb.ObjectPrivilege_PrivilegeGroupReadWrite,
		commonpb.ObjectPrivilege_PrivilegeGetImportProgress, commonpb.ObjectPrivilege_PrivilegeListImport,
		commonpb.ObjectPrivilege_PrivilegeAddCollectionField),
	ObjectGlobal: apis(commonpb.ObjectPrivilege_PrivilegeAll, commonpb.ObjectPrivilege_PrivilegeCreateCollection,
		commonpb.ObjectPrivilege_PrivilegeDropCollection, commonpb.ObjectPrivilege_PrivilegeDescribeCollection,
		commonpb.ObjectPrivilege_PrivilegeShowCollections, commonpb.ObjectPrivilege_PrivilegeRenameCollection,
		commonpb.ObjectPrivilege_PrivilegeCreateOwnership, commonpb.ObjectPrivilege_PrivilegeDropOwnership,
		commonpb.ObjectPrivilege_PrivilegeSelectOwnership, commonpb.ObjectPrivilege_PrivilegeManageOwnership,
		commonpb.ObjectPrivilege_PrivilegeBackupRBAC, commonpb.ObjectPrivilege_PrivilegeRestoreRBAC,
		commonpb.ObjectPrivilege_PrivilegeCreateResourceGroup, commonpb.ObjectPrivilege_PrivilegeUpdateResourceGroups,
		commonpb.ObjectPrivilege_PrivilegeDropResourceGroup, commonpb.ObjectPrivilege_PrivilegeDescribeResourceGroup,
		commonpb.ObjectPrivilege_PrivilegeListResourceGroups, commonpb.ObjectPrivilege_PrivilegeTransferReplica,
		commonpb.ObjectPrivilege_PrivilegeTransferNode, commonpb.ObjectPrivilege_PrivilegeFlushAll,
		commonpb.ObjectPrivilege_PrivilegeCreateDatabase, commonpb.ObjectPrivilege_PrivilegeDropDatabase,
		commonpb.ObjectPrivilege_PrivilegeListDatabases, commonpb.ObjectPrivilege_PrivilegeAlterDatabase,
		commonpb.ObjectPrivilege_PrivilegeDescribeDatabase, commonpb.ObjectPrivilege_PrivilegeCreateAlias,
		commonpb.ObjectPrivilege_PrivilegeDropAlias, commonpb.ObjectPrivilege_PrivilegeDescribeAlias,
		commonpb.ObjectPrivilege_PrivilegeListAliases, commonpb.ObjectPrivilege_PrivilegeGroupAdmin,
		commonpb.ObjectPrivilege_PrivilegeCreatePrivilegeGroup, commonpb.ObjectPrivilege_PrivilegeDropPrivilegeGroup,
		commonpb.ObjectPrivilege_PrivilegeListPrivilegeGroups, commonpb.ObjectPrivilege_PrivilegeOperatePrivilegeGroup,
		commonpb.ObjectPrivilege_PrivilegeGroupClusterReadOnly, commonpb.ObjectPrivilege_PrivilegeGroupClusterReadWrite,
		commonpb.ObjectPrivilege_PrivilegeGroupClusterAdmin, commonpb.ObjectPrivilege_PrivilegeGroupDatabaseReadOnly,
		commonpb.ObjectPrivilege_PrivilegeGroupDatabaseReadWrite, commonpb.ObjectPrivilege_PrivilegeGroupDatabaseAdmin,
		commonpb.ObjectPrivilege_PrivilegeGroupCollectionReadOnly, commonpb.ObjectPrivilege_PrivilegeGroupCollectionReadWrite,
		commonpb.ObjectPrivilege_PrivilegeGroupCollectionAdmin, commonpb.ObjectPrivilege_PrivilegeUpdateReplicateConfiguration),
	ObjectUser: apis(commonpb.ObjectPrivilege_PrivilegeUpdateUser, commonpb.ObjectPrivilege_PrivilegeSelectUser),
}

// relatedPrivileges are granted and revoked with a privilege (Milvus's
// util.RelatedPrivileges): loading implies seeing load progress.
var relatedPrivileges = map[string][]string{
	"Load":  {"GetLoadState", "GetLoadingProgress"},
	"Flush": {"GetFlushState"},
}

// Milvus's legacy v1 groups (ReadOnly, ReadWrite on a collection; Admin
// globally) and the v2 level groups.
var (
	legacyReadOnly = apis(commonpb.ObjectPrivilege_PrivilegeQuery, commonpb.ObjectPrivilege_PrivilegeSearch,
		commonpb.ObjectPrivilege_PrivilegeIndexDetail, commonpb.ObjectPrivilege_PrivilegeGetFlushState,
		commonpb.ObjectPrivilege_PrivilegeGetLoadState, commonpb.ObjectPrivilege_PrivilegeGetLoadingProgress,
		commonpb.ObjectPrivilege_PrivilegeHasPartition, commonpb.ObjectPrivilege_PrivilegeShowPartitions,
		commonpb.ObjectPrivilege_PrivilegeShowCollections, commonpb.ObjectPrivilege_PrivilegeListAliases,
		commonpb.ObjectPrivilege_PrivilegeListDatabases, commonpb.ObjectPrivilege_PrivilegeDescribeCollection,
		commonpb.ObjectPrivilege_PrivilegeDescribeDatabase, commonpb.ObjectPrivilege_PrivilegeDescribeAlias,
		commonpb.ObjectPrivilege_PrivilegeGetStatistics)
	legacyReadWrite = append(slices.Clone(legacyReadOnly), apis(commonpb.ObjectPrivilege_PrivilegeCreateIndex,
		commonpb.ObjectPrivilege_PrivilegeDropIndex, commonpb.ObjectPrivilege_PrivilegeCreatePartition,
		commonpb.ObjectPrivilege_PrivilegeDropPartition, commonpb.ObjectPrivilege_PrivilegeLoad,
		commonpb.ObjectPrivilege_PrivilegeRelease, commonpb.ObjectPrivilege_PrivilegeInsert,
		commonpb.ObjectPrivilege_PrivilegeDelete, commonpb.ObjectPrivilege_PrivilegeUpsert,
		commonpb.ObjectPrivilege_PrivilegeImport, commonpb.ObjectPrivilege_PrivilegeFlush,
		commonpb.ObjectPrivilege_PrivilegeCompaction, commonpb.ObjectPrivilege_PrivilegeLoadBalance,
		commonpb.ObjectPrivilege_PrivilegeRenameCollection, commonpb.ObjectPrivilege_PrivilegeCreateAlias,
		commonpb.ObjectPrivilege_PrivilegeDropAlias)...)
	legacyAdmin = append(slices.Clone(legacyReadWrite), apis(commonpb.ObjectPrivilege_PrivilegeCreateCollection,
		commonpb.ObjectPrivilege_PrivilegeDropCollection, commonpb.ObjectPrivilege_PrivilegeCreateOwnership,
		commonpb.ObjectPrivilege_PrivilegeDropOwnership, commonpb.ObjectPrivilege_PrivilegeSelectOwnership,
		commonpb.ObjectPrivilege_PrivilegeManageOwnership, commonpb.ObjectPrivilege_PrivilegeSelectUser,
		commonpb.ObjectPrivilege_PrivilegeUpdateUser, commonpb.ObjectPrivilege_PrivilegeBackupRBAC,
		commonpb.ObjectPrivilege_PrivilegeRestoreRBAC, commonpb.ObjectPrivilege_PrivilegeCreateResourceGroup,
		commonpb.ObjectPrivilege_PrivilegeUpdateResourceGroups, commonpb.ObjectPrivilege_PrivilegeDropResourceGroup,
		commonpb.ObjectPrivilege_PrivilegeDescribeResourceGroup, commonpb.ObjectPrivilege_PrivilegeListResourceGroups,
		commonpb.ObjectPrivilege_PrivilegeTransferReplica, commonpb.ObjectPrivilege_PrivilegeTransferNode,
		commonpb.ObjectPrivilege_PrivilegeCreateDatabase, commonpb.ObjectPrivilege_PrivilegeDropDatabase,
		commonpb.ObjectPrivilege_PrivilegeAlterDatabase, commonpb.ObjectPrivilege_PrivilegeUpdateReplicateConfiguration)...)

	collectionReadOnly = apis(commonpb.ObjectPrivilege_PrivilegeQuery, commonpb.ObjectPrivilege_PrivilegeSearch,
		commonpb.ObjectPrivilege_PrivilegeIndexDetail, commonpb.ObjectPrivilege_PrivilegeGetFlushState,
		commonpb.ObjectPrivilege_PrivilegeGetLoadState, commonpb.ObjectPrivilege_PrivilegeGetLoadingProgress,
		commonpb.ObjectPrivilege_PrivilegeHasPartition, commonpb.ObjectPrivilege_PrivilegeShowPartitions,
		commonpb.ObjectPrivilege_PrivilegeDescribeCollection, commonpb.ObjectPrivilege_PrivilegeDescribeAlias,
		commonpb.ObjectPrivilege_PrivilegeGetStatistics, commonpb.ObjectPrivilege_PrivilegeListAliases,
		commonpb.ObjectPrivilege_PrivilegeGetImportProgress, commonpb.ObjectPrivilege_PrivilegeListImport)
	collectionReadWrite = append(slices.Clone(collectionReadOnly), apis(commonpb.ObjectPrivilege_PrivilegeLoad,
		commonpb.ObjectPrivilege_PrivilegeRelease, commonpb.ObjectPrivilege_PrivilegeInsert,
		commonpb.ObjectPrivilege_PrivilegeDelete, commonpb.ObjectPrivilege_PrivilegeUpsert,
		commonpb.ObjectPrivilege_PrivilegeImport, commonpb.ObjectPrivilege_PrivilegeFlush,
		commonpb.ObjectPrivilege_PrivilegeCompaction, commonpb.ObjectPrivilege_PrivilegeLoadBalance,
		commonpb.ObjectPrivilege_PrivilegeCreateIndex, commonpb.ObjectPrivilege_PrivilegeDropIndex,
		commonpb.ObjectPrivilege_PrivilegeCreatePartition, commonpb.ObjectPrivilege_PrivilegeDropPartition,
		commonpb.ObjectPrivilege_PrivilegeAddCollectionField)...)
	collectionAdmin = append(slices.Clone(collectionReadWrite), apis(commonpb.ObjectPrivilege_PrivilegeCreateAlias,
		commonpb.ObjectPrivilege_PrivilegeDropAlias)...)

	databaseReadOnly  = apis(commonpb.ObjectPrivilege_PrivilegeShowCollections, commonpb.ObjectPrivilege_PrivilegeDescribeDatabase)
	databaseReadWrite = append(slices.Clone(databaseReadOnly), apis(commonpb.ObjectPrivilege_PrivilegeAlterDatabase)...)
	databaseAdmin     = append(slices.Clone(databaseReadWrite), apis(commonpb.ObjectPrivilege_PrivilegeCreateCollection,
		commonpb.ObjectPrivilege_PrivilegeDropCollection)...)

	clusterReadOnly = apis(commonpb.ObjectPrivilege_PrivilegeListDatabases, commonpb.ObjectPrivilege_PrivilegeSelectOwnership,
		commonpb.ObjectPrivilege_PrivilegeSelectUser, commonpb.ObjectPrivilege_PrivilegeDescribeResourceGroup,
		commonpb.ObjectPrivilege_PrivilegeListResourceGroups, commonpb.ObjectPrivilege_PrivilegeListPrivilegeGroups,
		commonpb.ObjectPrivilege_PrivilegeGetReplicateConfiguration)
	clusterReadWrite = append(slices.Clone(clusterReadOnly), apis(commonpb.ObjectPrivilege_PrivilegeFlushAll,
		commonpb.ObjectPrivilege_PrivilegeTransferNode, commonpb.ObjectPrivilege_PrivilegeTransferReplica,
		commonpb.ObjectPrivilege_PrivilegeUpdateResourceGroups)...)
	clusterAdmin = append(slices.Clone(clusterReadWrite), apis(commonpb.ObjectPrivilege_PrivilegeBackupRBAC,
		commonpb.ObjectPrivilege_PrivilegeRestoreRBAC, commonpb.ObjectPrivilege_PrivilegeCreateDatabase,
		commonpb.ObjectPrivilege_PrivilegeDropDatabase, commonpb.ObjectPrivilege_PrivilegeCreateOwnership,
		commonpb.ObjectPrivilege_PrivilegeDropOwnership, commonpb.ObjectPrivilege_PrivilegeManageOwnership,
		commonpb.ObjectPrivilege_PrivilegeCreateResourceGroup, commonpb.ObjectPrivilege_PrivilegeDropResourceGroup,
		commonpb.ObjectPrivilege_PrivilegeUpdateUser, commonpb.ObjectPrivilege_PrivilegeRenameCollection,
		commonpb.ObjectPrivilege_PrivilegeCreatePrivilegeGroup, commonpb.ObjectPrivilege_PrivilegeDropPrivilegeGroup,
		commonpb.ObjectPrivilege_PrivilegeOperatePrivilegeGroup, commonpb.ObjectPrivilege_PrivilegeUpdateReplicateConfiguration)...)
)

// BuiltinGroup is one of Milvus 2.6's nine built-in privilege groups.
type BuiltinGroup struct {
	Name       string
	Privileges []string
}

// BuiltinGroups are the built-in privilege groups in Milvus's order
// (ListPrivilegeGroups answers them first).
var BuiltinGroups = []BuiltinGroup{
	{"ClusterReadOnly", clusterReadOnly}, {"ClusterReadWrite", clusterReadWrite}, {"ClusterAdmin", clusterAdmin},
	{"DatabaseReadOnly", databaseReadOnly}, {"DatabaseReadWrite", databaseReadWrite}, {"DatabaseAdmin", databaseAdmin},
	{"CollectionReadOnly", collectionReadOnly}, {"CollectionReadWrite", collectionReadWrite}, {"CollectionAdmin", collectionAdmin},
}

func builtinGroup(name string) ([]string, bool) {
	for _, g := range BuiltinGroups {
		if g.Name == name {
			return g.Privileges, true
		}
	}
	return nil, false
}

// Defined reports whether name is a privilege or group of Milvus's
// catalogue (its API spelling), as util.IsPrivilegeNameDefined.
func Defined(name string) bool {
	if _, ok := commonpb.ObjectPrivilege_value["Privilege"+name]; ok {
		return true
	}
	_, ok := commonpb.ObjectPrivilege_value["PrivilegeGroup"+name]
	return ok
}

// ObjectTypeOf returns the object type a privilege belongs to (Milvus's
// util.GetObjectType): Global for anything not listed elsewhere.
func ObjectTypeOf(priv string) string {
	for _, t := range []string{ObjectCollection, ObjectUser} {
		if slices.Contains(objectPrivileges[t], priv) {
			return t
		}
	}
	return ObjectGlobal
}

// Level is a privilege's v2 level ("Cluster", "Database", "Collection" or
// "" for none), as util.GetPrivilegeLevel.
func Level(priv string) string {
	switch {
	case slices.Contains(clusterAdmin, priv):
		return "Cluster"
	case slices.Contains(databaseAdmin, priv):
		return "Database"
	case slices.Contains(collectionAdmin, priv):
		return "Collection"
	}
	return ""
}

// AllPrivileges lists every privilege (not group) of the catalogue.
func AllPrivileges() []string {
	var out []string
	for name := range commonpb.ObjectPrivilege_value {
		if strings.HasPrefix(name, "PrivilegeGroup") {
			continue
		}
		out = append(out, api(name))
	}
	slices.Sort(out)
	return out
}

// ObjectPrivileges lists the privileges a v1 grant on objectType may name.
func ObjectPrivileges(objectType string) []string { return slices.Clone(objectPrivileges[objectType]) }

// Related lists the privileges granted and revoked with priv.
func Related(priv string) []string { return relatedPrivileges[priv] }

// BuiltinGroupPrivileges returns a built-in group's privileges.
func BuiltinGroupPrivileges(name string) ([]string, bool) { return builtinGroup(name) }

// CheckLevel is rootcoord's validatePrivilegeGroupParams: a group of
// cluster-level privileges is granted on db "*" and collection "*", a
// database-level one on collection "*", a collection-level one names a
// database when it names a collection.
func CheckLevel(group, level, db, collection string) error {
	switch level {
	case "Cluster":
		if db != Any || collection != Any {
			return invalidMsg("dbName and collectionName should be * for the cluster level privilege: %s", group)
		}
	case "Database":
		if collection != "" && collection != Any {
			return invalidMsg("collectionName should be * for the database level privilege: %s", group)
		}
	case "Collection":
		if db == Any && collection != Any && collection != "" {
			return invalidMsg("please specify database name for the collection level privilege: %s", group)
		}
	default:
		return errs.Plain("not found the privilege level")
	}
	return nil
}
