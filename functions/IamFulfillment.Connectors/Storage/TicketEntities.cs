using System.Globalization;
using System.Text.Json;
using System.Text.Encodings.Web;
using Azure.Data.Tables;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Row layout of the tickets table. One partition per ticket (<see cref="TicketRef.StorageKey"/>): the row
/// <c>state</c> holds <see cref="TicketState"/>, the rows <c>e0000000001</c>, <c>e0000000002</c>, … the audit events.
/// Property names are the record's; enums are stored by name, lists as JSON, absent values are left out.
/// </summary>
internal static class TicketEntities
{
    public const string StateRowKey = "state";
    public const int SchemaVersion = 1;

    // Event rows sort before "state" and between these bounds.
    public const string EventRowKeyLow = "e";
    public const string EventRowKeyHigh = "f";

    public static string PartitionKey(TicketRef ticket) => TableKeys.EnsureValid(ticket.StorageKey, "ticket storage key");

    public static string EventRowKey(long sequence) => "e" + sequence.ToString("D10", CultureInfo.InvariantCulture);

    public static TableEntity ToEntity(TicketState state)
    {
        var entity = new TableEntity(PartitionKey(state.Ticket), StateRowKey);
        Set(entity, "SchemaVersion", SchemaVersion);
        Set(entity, "System", state.Ticket.System.ToString());
        Set(entity, "TicketKey", state.Ticket.Key);
        Set(entity, "LeaseOwner", state.LeaseOwner);
        Set(entity, "LeaseUntil", state.LeaseUntil);
        Set(entity, "Number", state.Number);
        Set(entity, "Round", state.Round);
        Set(entity, "Phase", state.Phase.ToString());
        Set(entity, "Outcome", state.Outcome?.ToString());
        Set(entity, "Rule", state.Rule);
        Set(entity, "WrittenState", state.WrittenState);
        Set(entity, "StepsDone", JsonSerializer.Serialize(state.StepsDone, StorageJson.Options));
        Set(entity, "StepsInFlight", state.StepsInFlight.Count == 0 ? null : JsonSerializer.Serialize(state.StepsInFlight, StorageJson.Options));
        Set(entity, "WriteBackMarker", state.WriteBackMarker);
        Set(entity, "Reopened", state.Reopened);
        Set(entity, "ScheduledFor", state.ScheduledFor);
        Set(entity, "RoundStartedAt", state.RoundStartedAt);
        Set(entity, "Failures", state.Failures);
        Set(entity, "AuditSequence", state.AuditSequence);
        Set(entity, "AuditHead", state.AuditHead);
        foreach (var (name, value) in entity)
        {
            if (value is string { Length: > TableKeys.MaxStringPropertyChars } text)
            {
                throw new ArgumentException($"The state of {state.Ticket} cannot be stored: '{name}' has {text.Length} characters (at most {TableKeys.MaxStringPropertyChars}).", nameof(state));
            }
        }

        return entity;
    }

    /// <summary>
    /// Whether a stored row holds exactly the properties <paramref name="written"/> was sent with (instants to the
    /// millisecond, as some backends keep fewer fractional digits). A state row names its lease holder and its audit
    /// head, so a row that holds a write's content is that write, not another worker's.
    /// </summary>
    public static bool Holds(TableEntity stored, TableEntity written)
    {
        var properties = 0;
        foreach (var (name, value) in written)
        {
            if (IsSystemProperty(name))
            {
                continue;
            }

            properties++;
            if (!stored.TryGetValue(name, out var kept) || !SameValue(kept, value))
            {
                return false;
            }
        }

        return stored.Keys.Count(name => !IsSystemProperty(name)) == properties;
    }

    public static TicketState ToState(TicketRef ticket, TableEntity entity) => new()
    {
        Ticket = ticket,
        ETag = entity.ETag.ToString(),
        LastWrittenAt = entity.Timestamp,
        LeaseOwner = entity.GetString("LeaseOwner"),
        LeaseUntil = entity.GetDateTimeOffset("LeaseUntil"),
        Number = entity.GetString("Number"),
        Round = entity.GetString("Round"),
        Phase = ParseEnum<RoundPhase>(entity, "Phase") ?? RoundPhase.Idle,
        Outcome = ParseEnum<Outcome>(entity, "Outcome"),
        Rule = entity.GetString("Rule"),
        WrittenState = entity.GetString("WrittenState"),
        StepsDone = entity.GetString("StepsDone") is { } steps
            ? JsonSerializer.Deserialize<string[]>(steps, StorageJson.Options) ?? []
            : [],
        StepsInFlight = entity.GetString("StepsInFlight") is { } inFlight
            ? JsonSerializer.Deserialize<string[]>(inFlight, StorageJson.Options) ?? []
            : [],
        WriteBackMarker = entity.GetString("WriteBackMarker"),
        Reopened = entity.GetInt32("Reopened") ?? 0,
        ScheduledFor = entity.GetDateTimeOffset("ScheduledFor"),
        RoundStartedAt = entity.GetDateTimeOffset("RoundStartedAt"),
        Failures = entity.GetInt32("Failures") ?? 0,
        AuditSequence = entity.GetInt64("AuditSequence") ?? 0,
        AuditHead = entity.GetString("AuditHead") ?? AuditChain.Genesis,
    };

    /// <summary>
    /// The event exactly as hashed. <c>At</c> is stored twice: as a DateTime (for range queries) and as UTC ticks
    /// (<c>AtTicks</c>, read back) so the hashed instant survives a backend that keeps fewer fractional digits.
    /// </summary>
    public static TableEntity ToEntity(AuditEvent e)
    {
        var entity = new TableEntity(PartitionKey(e.Ticket), EventRowKey(e.Sequence));
        Set(entity, "System", e.Ticket.System.ToString());
        Set(entity, "TicketKey", e.Ticket.Key);
        Set(entity, "Sequence", e.Sequence);
        Set(entity, "At", e.At.ToUniversalTime());
        Set(entity, "AtTicks", e.At.UtcTicks);
        Set(entity, "Kind", e.Kind);
        Set(entity, "Round", e.Round);
        Set(entity, "Data", JsonSerializer.Serialize(e.Data, StorageJson.KeepNulls));
        Set(entity, "PreviousHash", e.PreviousHash);
        Set(entity, "Hash", e.Hash);
        foreach (var (name, value) in entity)
        {
            if (value is string { Length: > TableKeys.MaxStringPropertyChars } text)
            {
                throw new AuditEventTooLargeException(e.Ticket, e.Sequence, name, text.Length);
            }
        }

        return entity;
    }

    public static AuditEvent ToEvent(TableEntity entity)
    {
        var system = ParseEnum<TicketSystemKind>(entity, "System")
            ?? throw new InvalidDataException($"Audit row {entity.PartitionKey}/{entity.RowKey} has no System.");
        var key = entity.GetString("TicketKey")
            ?? throw new InvalidDataException($"Audit row {entity.PartitionKey}/{entity.RowKey} has no TicketKey.");
        var at = entity.GetInt64("AtTicks") is { } ticks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : entity.GetDateTimeOffset("At") ?? throw new InvalidDataException($"Audit row {entity.PartitionKey}/{entity.RowKey} has no time.");
        var data = entity.GetString("Data") is { } json
            ? JsonSerializer.Deserialize<Dictionary<string, string?>>(json, StorageJson.KeepNulls) ?? []
            : [];
        return new AuditEvent
        {
            Ticket = new TicketRef(system, key),
            Sequence = entity.GetInt64("Sequence") ?? throw new InvalidDataException($"Audit row {entity.PartitionKey}/{entity.RowKey} has no Sequence."),
            At = at,
            Kind = entity.GetString("Kind") ?? "",
            Round = entity.GetString("Round"),
            Data = data,
            PreviousHash = entity.GetString("PreviousHash") ?? "",
            Hash = entity.GetString("Hash") ?? "",
        };
    }

    /// <summary>
    /// Bytes an entity adds to a transaction body. The SDK writes JSON with the default encoder, which escapes
    /// non-ASCII characters as \uXXXX (6 bytes each), so the estimate escapes the same way; 1 KiB covers property
    /// names, types and the multipart framing of one operation.
    /// </summary>
    public static int EstimatePayloadBytes(TableEntity entity)
    {
        var bytes = 1024;
        foreach (var (name, value) in entity)
        {
            bytes += name.Length + 32;
            if (value is string text)
            {
                bytes += JavaScriptEncoder.Default.Encode(text).Length;
            }
        }

        return bytes;
    }

    private static bool IsSystemProperty(string name) =>
        name is "PartitionKey" or "RowKey" or "Timestamp" || name.StartsWith("odata.", StringComparison.Ordinal);

    private static bool SameValue(object? stored, object? written) => (stored, written) switch
    {
        (DateTimeOffset a, DateTimeOffset b) => a.UtcTicks / TimeSpan.TicksPerMillisecond == b.UtcTicks / TimeSpan.TicksPerMillisecond,
        (int or long, int or long) => Convert.ToInt64(stored, CultureInfo.InvariantCulture) == Convert.ToInt64(written, CultureInfo.InvariantCulture),
        _ => Equals(stored, written),
    };

    private static void Set(TableEntity entity, string name, object? value)
    {
        if (value is not null)
        {
            entity[name] = value;
        }
    }

    private static T? ParseEnum<T>(TableEntity entity, string name)
        where T : struct, Enum
    {
        if (entity.GetString(name) is not { } text)
        {
            return null;
        }

        return Enum.TryParse<T>(text, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw new InvalidDataException($"Row {entity.PartitionKey}/{entity.RowKey}: {name} '{text}' is not a known {typeof(T).Name}.");
    }
}
