using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Processing;

public enum RoundPhase
{
    /// <summary>No round yet, or the last one finished.</summary>
    Idle,

    /// <summary>Decided; directory steps may be under way (see <see cref="TicketState.StepsDone"/>).</summary>
    Acting,

    /// <summary>Write-back sent; its response was not yet recorded.</summary>
    WritingBack,

    /// <summary>Finished: outcome written back.</summary>
    Completed,

    /// <summary>Decided, waiting for a due time (future-dated leaver).</summary>
    Scheduled,
}

/// <summary>
/// The service's own record of a ticket: who holds the processing lease, which round (inputs fingerprint) is in
/// progress or finished, which steps are done, and the head of the audit chain.
/// </summary>
public sealed record TicketState
{
    public required TicketRef Ticket { get; init; }

    /// <summary>Opaque concurrency token from the store.</summary>
    public string? ETag { get; init; }

    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseUntil { get; init; }

    public string? Number { get; init; }
    public string? Round { get; init; }
    public RoundPhase Phase { get; init; }
    public Outcome? Outcome { get; init; }
    public string? Rule { get; init; }

    /// <summary>The ITSM state value the service last wrote; a different value later means a person moved the ticket.</summary>
    public string? WrittenState { get; init; }

    /// <summary>Processing attempts of the current round that failed (for the failure escalation note).</summary>
    public int Failures { get; init; }

    public IReadOnlyList<string> StepsDone { get; init; } = [];

    /// <summary>
    /// The last stage's steps, under way when the write-back was recorded as about to be sent: their results are saved
    /// after the write-back, so a run that stopped in between leaves them named here for the audit trail.
    /// </summary>
    public IReadOnlyList<string> StepsInFlight { get; init; } = [];
    public string? WriteBackMarker { get; init; }

    /// <summary>Number of times a person reopened the ticket after a final outcome (part of the round id).</summary>
    public int Reopened { get; init; }

    public DateTimeOffset? ScheduledFor { get; init; }

    /// <summary>When the first delivery for the current round arrived (time-to-fulfil KPIs).</summary>
    public DateTimeOffset? RoundStartedAt { get; init; }

    /// <summary>When the store last wrote the row, by the store's clock (not business time).</summary>
    public DateTimeOffset? LastWrittenAt { get; init; }

    public long AuditSequence { get; init; }
    public string AuditHead { get; init; } = Audit.AuditChain.Genesis;

    /// <summary>
    /// The round a read of the ticket makes after this state: a new one when a person reopened a final outcome, or
    /// moved the ticket's state since the service wrote it (both count as a reopen, part of the round id).
    /// </summary>
    public (string Round, bool Reopened, bool Moved) RoundOf(TicketSnapshot snapshot)
    {
        var reopened = Phase == RoundPhase.Completed && Outcome is Decisions.Outcome.Fulfilled or Decisions.Outcome.Rejected;
        var moved = Phase == RoundPhase.Completed && !reopened && WrittenState is { } written
                    && !string.Equals(written, snapshot.RawState, StringComparison.Ordinal);
        return (Fingerprint.RoundId(snapshot, Reopened + (reopened || moved ? 1 : 0)), reopened, moved);
    }

    /// <summary>True when the ticket as read was decided already: a run skips it as a duplicate.</summary>
    public bool Decided(TicketSnapshot snapshot) => Phase == RoundPhase.Completed && RoundOf(snapshot).Round == Round;
}
