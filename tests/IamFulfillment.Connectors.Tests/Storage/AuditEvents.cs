using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Tests.Storage;

/// <summary>Builds correctly chained events the way the core does: each hashed over its content and the previous hash.</summary>
internal static class AuditEvents
{
    public static (TicketState State, List<AuditEvent> Events) Append(
        TicketState state, int count, DateTimeOffset at, Func<long, IReadOnlyDictionary<string, string?>>? data = null, string kind = AuditKinds.Checks)
    {
        var events = new List<AuditEvent>(count);
        var previous = state.AuditHead;
        var sequence = state.AuditSequence;
        for (var i = 0; i < count; i++)
        {
            sequence++;
            var values = data?.Invoke(sequence) ?? new Dictionary<string, string?> { ["step"] = $"step-{sequence}", ["result"] = "ok" };
            var hash = AuditEvent.ComputeHash(state.Ticket, sequence, at, kind, state.Round, values, previous);
            events.Add(new AuditEvent
            {
                Ticket = state.Ticket,
                Sequence = sequence,
                At = at,
                Kind = kind,
                Round = state.Round,
                Data = values,
                PreviousHash = previous,
                Hash = hash,
            });
            previous = hash;
        }

        return (state with { AuditSequence = sequence, AuditHead = previous }, events);
    }
}
