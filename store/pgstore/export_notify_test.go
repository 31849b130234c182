package pgstore

// Queries and helpers of push invalidation the external tests inspect.
var QGetMember = qGetMember

// MaxBatchNotifications is how many created memberships of one batch are
// published one by one (more publish one Change{}).
const MaxBatchNotifications = maxBatchNotifications
