using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Ticket state and audit trail in one table, one partition per ticket, so a checkpoint (state plus its new events) is
/// one entity-group transaction fenced by the state row's ETag. Events are only ever added (never updated or deleted
/// by this code); each carries the previous event's hash, so <see cref="AuditChain.Verify"/> shows edits and gaps.
/// </summary>
public sealed class TableTicketStore(TableClient table, TimeProvider time, ILogger<TableTicketStore> logger) : ITicketStore
{
    /// <summary>A transaction holds at most 100 entities: the state row plus 99 events.</summary>
    public const int MaxEventsPerTransaction = 99;

    /// <summary>A transaction body may be 4 MiB; stay well below it.</summary>
    internal const int MaxTransactionBytes = 3 * 1024 * 1024;

    private const int AcquireAttempts = 5;

    public async Task<TicketState?> GetAsync(TicketRef ticket, CancellationToken cancellationToken)
    {
        var current = await table.GetEntityIfExistsAsync<TableEntity>(TicketEntities.PartitionKey(ticket), TicketEntities.StateRowKey, cancellationToken: cancellationToken);
        return current.HasValue ? TicketEntities.ToState(ticket, current.Value!) : null;
    }

    public async Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        var partition = TicketEntities.PartitionKey(ticket);
        DateTimeOffset? busyUntil = null;

        for (var attempt = 1; attempt <= AcquireAttempts; attempt++)
        {
            var now = time.GetUtcNow();
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, TicketEntities.StateRowKey, cancellationToken: cancellationToken);
            if (!current.HasValue)
            {
                var fresh = new TicketState { Ticket = ticket, LeaseOwner = owner, LeaseUntil = now + duration };
                try
                {
                    var added = await table.AddEntityAsync(TicketEntities.ToEntity(fresh), cancellationToken);
                    logger.LeaseTaken(ticket.ToString(), owner, now + duration);
                    return new LeaseAttempt(fresh with { ETag = ETagOf(added) }, null);
                }
                catch (RequestFailedException ex) when (ex.Status == 409)
                {
                    // Another worker created the row first: read what it wrote.
                    logger.LeaseContention(ticket.ToString(), attempt);
                    continue;
                }
            }

            var state = TicketEntities.ToState(ticket, current.Value!);
            if (state.LeaseOwner is { } holder && holder != owner && state.LeaseUntil > now)
            {
                logger.LeaseBusy(ticket.ToString(), holder, state.LeaseUntil);
                return new LeaseAttempt(null, state.LeaseUntil);
            }

            // Free, expired, or already ours (then this extends it).
            var leased = state with { LeaseOwner = owner, LeaseUntil = now + duration };
            try
            {
                var updated = await table.UpdateEntityAsync(TicketEntities.ToEntity(leased), current.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                logger.LeaseTaken(ticket.ToString(), owner, now + duration);
                return new LeaseAttempt(leased with { ETag = ETagOf(updated) }, null);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                logger.LeaseContention(ticket.ToString(), attempt);
                busyUntil = now + TimeSpan.FromSeconds(1);
            }
        }

        // Others kept changing the row: report it busy for a moment rather than spin.
        return new LeaseAttempt(null, busyUntil);
    }

    public async Task<LeaseAttempt> TryAcquireObservedAsync(TicketRef ticket, TicketState? observed, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        var now = time.GetUtcNow();
        if (observed is { LeaseOwner: { } holder } && holder != owner && observed.LeaseUntil > now)
        {
            logger.LeaseBusy(ticket.ToString(), holder, observed.LeaseUntil);
            return new LeaseAttempt(null, observed.LeaseUntil);
        }

        if (observed is { ETag: null })
        {
            return new LeaseAttempt(null, null); // nothing to make the write conditional on
        }

        var leased = (observed ?? new TicketState { Ticket = ticket }) with { LeaseOwner = owner, LeaseUntil = now + duration };
        try
        {
            // Insert only if there is still no row; replace only if the row still has the observed ETag.
            Response response = observed is null
                ? await table.AddEntityAsync(TicketEntities.ToEntity(leased), cancellationToken)
                : await table.UpdateEntityAsync(TicketEntities.ToEntity(leased), new ETag(observed.ETag!), TableUpdateMode.Replace, cancellationToken);
            logger.LeaseTaken(ticket.ToString(), owner, now + duration);
            return new LeaseAttempt(leased with { ETag = ETagOf(response) }, null);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            logger.LeaseContention(ticket.ToString(), 1);
            return new LeaseAttempt(null, null);
        }
    }

    public async Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (state.ETag is null)
        {
            throw new ArgumentException($"The state of {state.Ticket} has no ETag: take the lease (TryAcquireAsync) before saving.", nameof(state));
        }

        CheckChain(state, events);
        var final = events.Count == 0 ? state : state with { AuditSequence = events[^1].Sequence, AuditHead = events[^1].Hash };
        var stateEntity = TicketEntities.ToEntity(final);
        var eventEntities = events.Select(TicketEntities.ToEntity).ToList(); // throws before anything is written
        var etag = new ETag(state.ETag);

        if (eventEntities.Count == 0)
        {
            try
            {
                var updated = await table.UpdateEntityAsync(stateEntity, etag, TableUpdateMode.Replace, cancellationToken);
                logger.CheckpointSaved(state.Ticket.ToString(), 0, 1, final.AuditSequence);
                return final with { ETag = ETagOf(updated) };
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                if (ex.Status == 412 && await LandedAsync(state.Ticket, stateEntity, etag, ex.Status, cancellationToken) is { } landed)
                {
                    return final with { ETag = landed.ToString() };
                }

                logger.LeaseLost(state.Ticket.ToString(), ex.Status);
                throw new LeaseLostException(state.Ticket);
            }
        }

        var chunks = Chunk(eventEntities, TicketEntities.EstimatePayloadBytes(stateEntity));

        // With several transactions, each earlier one writes the state as it is stored, with only the audit head moved
        // on to its last event: a crash between them leaves a consistent "old state plus some events", never an event
        // the state does not know about (which would block the next checkpoint) and never a new phase whose events are
        // missing. The state row is in every transaction, so each one is fenced by the lease's ETag.
        TicketState? stored = null;
        if (chunks.Count > 1)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(stateEntity.PartitionKey, TicketEntities.StateRowKey, cancellationToken: cancellationToken);
            if (!current.HasValue || current.Value!.ETag != etag)
            {
                logger.LeaseLost(state.Ticket.ToString(), 412);
                throw new LeaseLostException(state.Ticket);
            }

            stored = TicketEntities.ToState(state.Ticket, current.Value);
        }

        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            var rowState = i == chunks.Count - 1
                ? stateEntity
                : TicketEntities.ToEntity(stored! with
                {
                    AuditSequence = chunk[^1].GetInt64("Sequence")!.Value,
                    AuditHead = chunk[^1].GetString("Hash"),
                });
            var actions = new List<TableTransactionAction>(chunk.Count + 1)
            {
                new(TableTransactionActionType.UpdateReplace, rowState, etag),
            };
            actions.AddRange(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Add, e)));

            try
            {
                var response = await table.SubmitTransactionAsync(actions, cancellationToken);
                etag = response.Value[0].Headers.ETag ?? throw new InvalidOperationException("The table service returned no ETag for the state row.");
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 412 or 409 or 404)
            {
                etag = await RefusedAsync(state, rowState, etag, ex, chunk, stored, cancellationToken);
            }
        }

        logger.CheckpointSaved(state.Ticket.ToString(), eventEntities.Count, chunks.Count, final.AuditSequence);
        return final with { ETag = etag.ToString() };
    }

    public async Task<IReadOnlyList<AuditEvent>> ReadTrailAsync(TicketRef ticket, CancellationToken cancellationToken)
    {
        var partition = TicketEntities.PartitionKey(ticket);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {partition} and RowKey ge {TicketEntities.EventRowKeyLow} and RowKey lt {TicketEntities.EventRowKeyHigh}");
        var events = new List<AuditEvent>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            events.Add(TicketEntities.ToEvent(entity));
        }

        // Row keys are zero-padded sequences, so the service already returns them in order; sort anyway for clarity.
        events.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return events;
    }

    /// <summary>
    /// Events with <paramref name="from"/> ≤ At &lt; <paramref name="to"/>, across tickets, ordered by ticket and then
    /// sequence (not globally by time). This is a filtered scan of the whole table, which is acceptable for a periodic
    /// evidence export; a per-day index partition would make it a range query if exports become frequent or large.
    /// </summary>
    public async IAsyncEnumerable<AuditEvent> QueryEventsAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"RowKey ge {TicketEntities.EventRowKeyLow} and RowKey lt {TicketEntities.EventRowKeyHigh} and At ge {from.ToUniversalTime()} and At lt {to.ToUniversalTime()}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var e = TicketEntities.ToEvent(entity);

            // The exact (hashed) time decides, in case the DateTime column is less precise.
            if (e.At >= from && e.At < to)
            {
                yield return e;
            }
        }
    }

    /// <summary>Events must be consecutive, chained, hashed correctly, and continue from (or end at) the state's audit head.</summary>
    private static void CheckChain(TicketState state, IReadOnlyList<AuditEvent> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Ticket != state.Ticket)
            {
                throw new ArgumentException($"Audit event {e.Sequence} belongs to {e.Ticket}, not {state.Ticket}.", nameof(events));
            }

            if (i > 0 && (e.Sequence != events[i - 1].Sequence + 1 || e.PreviousHash != events[i - 1].Hash))
            {
                throw new ArgumentException($"Audit events of {state.Ticket} must be consecutive and chained; event {e.Sequence} does not follow {events[i - 1].Sequence}.", nameof(events));
            }

            if (!e.HashIsValid())
            {
                throw new ArgumentException($"Audit event {e.Sequence} of {state.Ticket} has a hash that does not match its content.", nameof(events));
            }
        }

        if (events.Count > 0)
        {
            var continues = state.AuditSequence == events[0].Sequence - 1 && state.AuditHead == events[0].PreviousHash;
            var endsAt = state.AuditSequence == events[^1].Sequence && state.AuditHead == events[^1].Hash;
            if (!continues && !endsAt)
            {
                throw new ArgumentException(
                    $"The audit head of {state.Ticket} (sequence {state.AuditSequence}) is neither the event before {events[0].Sequence} nor event {events[^1].Sequence}.", nameof(events));
            }
        }
    }

    /// <summary>Splits events into transactions of at most 99 events and <see cref="MaxTransactionBytes"/>, in order.</summary>
    private static List<List<TableEntity>> Chunk(List<TableEntity> events, int stateBytes)
    {
        var chunks = new List<List<TableEntity>>();
        var current = new List<TableEntity>();
        var bytes = stateBytes;
        foreach (var e in events)
        {
            var size = TicketEntities.EstimatePayloadBytes(e);
            if (current.Count > 0 && (current.Count == MaxEventsPerTransaction || bytes + size > MaxTransactionBytes))
            {
                chunks.Add(current);
                current = [];
                bytes = stateBytes;
            }

            current.Add(e);
            bytes += size;
        }

        chunks.Add(current);
        return chunks;
    }

    /// <summary>
    /// A refused checkpoint transaction. A transaction is all or nothing, so a state row holding what it wrote means
    /// its events are stored too (the answer was lost): its ETag is returned. Otherwise another worker took the lease
    /// (412: the state row changed; 404: it is gone), or an event row exists already (409) while the state did not
    /// move on, so the trail and the state disagree, which no retry can fix.
    /// </summary>
    private async Task<ETag> RefusedAsync(TicketState state, TableEntity rowState, ETag sentOn, TableTransactionFailedException refusal,
        List<TableEntity> chunk, TicketState? stored, CancellationToken cancellationToken)
    {
        if (refusal.Status is 412 or 409 && await LandedAsync(state.Ticket, rowState, sentOn, refusal.Status, cancellationToken) is { } landed)
        {
            return landed;
        }

        if (refusal.Status == 409)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(rowState.PartitionKey, TicketEntities.StateRowKey, cancellationToken: cancellationToken);
            if (current.HasValue && current.Value!.ETag == sentOn)
            {
                throw new InvalidOperationException(
                    $"Audit events of {state.Ticket} from sequence {chunk[0].GetInt64("Sequence")} are already stored although the state is at {stored?.AuditSequence ?? state.AuditSequence}: the trail and the state disagree.", refusal);
            }
        }

        logger.LeaseLost(state.Ticket.ToString(), refusal.Status);
        throw new LeaseLostException(state.Ticket);
    }

    /// <summary>
    /// After a conditional write was refused: the state row's ETag if the row holds exactly what the write sent. That
    /// is a write that landed while its answer was lost, so the storage client's own retry met the ETag it had just
    /// changed (412), or the events it had just added (409). Anything else is another worker's write: null.
    /// </summary>
    private async Task<ETag?> LandedAsync(TicketRef ticket, TableEntity written, ETag sentOn, int status, CancellationToken cancellationToken)
    {
        var current = await table.GetEntityIfExistsAsync<TableEntity>(written.PartitionKey, written.RowKey, cancellationToken: cancellationToken);
        if (!current.HasValue || current.Value!.ETag == sentOn || !TicketEntities.Holds(current.Value, written))
        {
            return null;
        }

        logger.CheckpointLandedUnanswered(ticket.ToString(), status);
        return current.Value.ETag;
    }

    private static string ETagOf(Response response) =>
        response.Headers.ETag?.ToString() ?? throw new InvalidOperationException("The table service returned no ETag.");
}
