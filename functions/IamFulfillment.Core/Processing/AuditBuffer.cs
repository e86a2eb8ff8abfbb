using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// Builds chained audit events from the ticket's current chain head; they are written with the next checkpoint. Safe
/// to use from a stage and a save running at once (a failed save puts its events back while steps are recorded).
/// </summary>
internal sealed class AuditBuffer(TicketRef ticket, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly List<AuditEvent> _pending = [];
    private long _sequence;
    private string _head = AuditChain.Genesis;

    public void Reset(TicketState state)
    {
        lock (_gate)
        {
            _pending.Clear();
            _sequence = state.AuditSequence;
            _head = state.AuditHead;
        }
    }

    public string? Round { get; set; }

    public void Add(string kind, params (string Key, string? Value)[] data)
    {
        var dictionary = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in data)
        {
            if (value is not null)
            {
                dictionary[key] = value;
            }
        }

        lock (_gate)
        {
            var at = time.GetUtcNow();
            var sequence = ++_sequence;
            var hash = AuditEvent.ComputeHash(ticket, sequence, at, kind, Round, dictionary, _head);
            _pending.Add(new AuditEvent
            {
                Ticket = ticket,
                Sequence = sequence,
                At = at,
                Kind = kind,
                Round = Round,
                Data = dictionary,
                PreviousHash = _head,
                Hash = hash,
            });
            _head = hash;
        }
    }

    /// <summary>Puts events back that a failed save took (ahead of any added since), so the next save stores them.</summary>
    public void Restore(IReadOnlyList<AuditEvent> events)
    {
        lock (_gate)
        {
            _pending.InsertRange(0, events);
        }
    }

    /// <summary>
    /// Saves <paramref name="state"/> with the events built so far. If the save fails they are put back, so the save
    /// that records the failure stores them too (they may record directory changes already made) and never a chain
    /// head whose events are missing.
    /// </summary>
    public async Task<TicketState> SaveAsync(ITicketStore store, TicketState state, CancellationToken cancellationToken)
    {
        var (withHead, events) = Drain(state);
        try
        {
            return await store.SaveAsync(withHead, events, cancellationToken);
        }
        catch
        {
            Restore(events);
            throw;
        }
    }

    /// <summary>The state with the new chain head, and the events to store with it.</summary>
    public (TicketState State, IReadOnlyList<AuditEvent> Events) Drain(TicketState state)
    {
        lock (_gate)
        {
            var events = _pending.ToList();
            _pending.Clear();
            return (state with { AuditSequence = _sequence, AuditHead = _head }, events);
        }
    }
}
