namespace IamFulfillment.Core.Model;

public enum ApprovalState
{
    NotRequested,
    Requested,
    Approved,
    Rejected,
    Cancelled,
    NotRequired,
    Skipped,
}

/// <summary>Where an approval record hangs: on the requested item itself or on its parent request.</summary>
public enum ApprovalScope
{
    Item,
    ParentRequest,
}

/// <summary>
/// One approval as the ticket system records it. <see cref="ActedBy"/> is who actually clicked, when the
/// system tells it apart from the assigned approver (a delegate).
/// </summary>
public sealed record ApprovalRecord(
    string Id,
    ItsmPerson Approver,
    ApprovalState State,
    DateTimeOffset? DecidedAt,
    ApprovalScope Scope = ApprovalScope.Item,
    ItsmPerson? ActedBy = null,
    string? Comment = null,
    string? StageName = null,
    DateTimeOffset? CreatedAt = null)
{
    public bool IsDecided => State is ApprovalState.Approved or ApprovalState.Rejected;
}
