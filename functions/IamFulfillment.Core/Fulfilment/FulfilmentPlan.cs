using IamFulfillment.Core.Requests;

namespace IamFulfillment.Core.Fulfilment;

/// <summary>
/// The ordered directory changes a decision needs, made only from a <see cref="ValidatedAccessRequest"/>.
/// Stages run one after the other; operations inside a stage are independent and may run in parallel (or in
/// one Graph batch).
/// </summary>
public sealed record FulfilmentPlan
{
    private FulfilmentPlan(ValidatedAccessRequest request, IReadOnlyList<IReadOnlyList<DirectoryOperation>> stages, IReadOnlyList<TimeBoundGrant> grants, bool recordsRemovals, bool continueAfterFailure = false)
    {
        Request = request;
        Stages = stages;
        Grants = grants;
        RecordsRemovalsForRestore = recordsRemovals;
        ContinueAfterFailure = continueAfterFailure;
    }

    public ValidatedAccessRequest Request { get; }
    public IReadOnlyList<IReadOnlyList<DirectoryOperation>> Stages { get; }

    /// <summary>Time-bound grants this plan creates (removed when they expire).</summary>
    public IReadOnlyList<TimeBoundGrant> Grants { get; }

    /// <summary>Removals are recorded so a rehire can be restored (leaver).</summary>
    public bool RecordsRemovalsForRestore { get; }

    /// <summary>
    /// Whether later stages run when an operation of an earlier one was not permitted or failed: a leaver's
    /// memberships are removed even if the account cannot be disabled; an MFA reset stops if no pass was issued.
    /// </summary>
    public bool ContinueAfterFailure { get; }

    public IEnumerable<DirectoryOperation> Operations => Stages.SelectMany(s => s);

    public static FulfilmentPlan For(ValidatedAccessRequest request, params IReadOnlyList<DirectoryOperation>[] stages) =>
        new(request, stages.Where(s => s.Count > 0).ToList(), [], false);

    public FulfilmentPlan WithGrants(IReadOnlyList<TimeBoundGrant> grants) => new(Request, Stages, grants, RecordsRemovalsForRestore, ContinueAfterFailure);

    public FulfilmentPlan RecordingRemovals() => new(Request, Stages, Grants, true, ContinueAfterFailure);

    public FulfilmentPlan ContinuingAfterFailures() => new(Request, Stages, Grants, RecordsRemovalsForRestore, true);
}

public sealed record TimeBoundGrant(string EntitlementId, string GroupId, string UserId, DateTimeOffset Until);

/// <summary>What one directory operation did.</summary>
public enum ChangeStatus
{
    /// <summary>The directory changed.</summary>
    Applied,

    /// <summary>Already in the wanted state ("already a member", "not a member"): success, recorded as no-op.</summary>
    NoOp,

    /// <summary>The service's permissions do not cover it (e.g. on-premises-synced account, admin-role holder).</summary>
    NotPermitted,

    /// <summary>Failed for another reason.</summary>
    Failed,
}

public sealed record ChangeResult(ChangeStatus Status, string? RequestId = null, string? Detail = null)
{
    public bool Succeeded => Status is ChangeStatus.Applied or ChangeStatus.NoOp;
}
