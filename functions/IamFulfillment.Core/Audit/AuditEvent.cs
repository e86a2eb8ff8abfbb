using System.Security.Cryptography;
using System.Text;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Audit;

/// <summary>
/// One append-only audit event. Each carries the hash of the ticket's previous event, so an edit or a deletion
/// anywhere in the trail shows when the chain is verified.
/// </summary>
public sealed record AuditEvent
{
    public required TicketRef Ticket { get; init; }
    public required long Sequence { get; init; }
    public required DateTimeOffset At { get; init; }
    public required string Kind { get; init; }

    /// <summary>Processing round (a fingerprint of the ticket's material inputs) the event belongs to.</summary>
    public string? Round { get; init; }

    public IReadOnlyDictionary<string, string?> Data { get; init; } = new Dictionary<string, string?>();
    public required string PreviousHash { get; init; }
    public required string Hash { get; init; }

    public static string ComputeHash(TicketRef ticket, long sequence, DateTimeOffset at, string kind, string? round,
        IReadOnlyDictionary<string, string?> data, string previousHash)
    {
        var canonical = new StringBuilder()
            .Append(ticket.StorageKey).Append('\n')
            .Append(sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
            .Append(at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
            .Append(kind).Append('\n')
            .Append(round).Append('\n');
        foreach (var pair in data.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            canonical.Append(pair.Key).Append('=').Append(pair.Value?.Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        }

        canonical.Append(previousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    public bool HashIsValid() => Hash == ComputeHash(Ticket, Sequence, At, Kind, Round, Data, PreviousHash);
}

public static class AuditKinds
{
    public const string ProcessingStarted = "processing.started";
    public const string Skipped = "processing.skipped";
    public const string Waiting = "processing.waiting";
    public const string Deferred = "processing.deferred";
    public const string TicketRead = "ticket.read";
    public const string Request = "request";
    public const string Checks = "checks";
    public const string Decision = "decision";
    public const string ChangeApplied = "directory.change";
    public const string ChangeFailed = "directory.change-failed";
    public const string WriteBack = "ticket.writeback";
    public const string WriteBackRecovered = "ticket.writeback-recovered";
    public const string RoundCompleted = "round.completed";
    public const string Failure = "processing.failure";
    public const string Scheduled = "processing.scheduled";
    public const string GrantExpired = "grant.expired";

    /// <summary>A time-bound grant's expiry no longer applies: the access was granted again with no end date.</summary>
    public const string GrantEndLifted = "grant.end-lifted";
    public const string BrakeEngaged = "safety-brake.engaged";
}

/// <summary>Checks a ticket's trail: sequence without gaps, each hash valid and chained to the one before.</summary>
public static class AuditChain
{
    public const string Genesis = "genesis";

    public static IReadOnlyList<string> Verify(IReadOnlyList<AuditEvent> events)
    {
        var problems = new List<string>();
        var previous = Genesis;
        long expected = 1;
        foreach (var e in events.OrderBy(e => e.Sequence))
        {
            if (e.Sequence != expected)
            {
                problems.Add($"event {expected} is missing (found {e.Sequence})");
                expected = e.Sequence;
            }

            if (e.PreviousHash != previous)
            {
                problems.Add($"event {e.Sequence} does not chain to the event before it");
            }

            if (!e.HashIsValid())
            {
                problems.Add($"event {e.Sequence} was altered (hash mismatch)");
            }

            previous = e.Hash;
            expected++;
        }

        return problems;
    }
}
