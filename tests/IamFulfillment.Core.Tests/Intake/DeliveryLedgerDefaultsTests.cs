using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Tests.Intake;

/// <summary>
/// A ledger that cannot record a queued delivery in one write still answers as one that can: it records the delivery,
/// then marks it queued, unless it was queued before.
/// </summary>
public sealed class DeliveryLedgerDefaultsTests
{
    [Fact]
    public async Task RecordQueued_ByDefault_RecordsTheDeliveryAndMarksItQueued()
    {
        IDeliveryLedger ledger = new TwoWriteLedger();

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.New, status);
        Assert.Equal(DeliveryStatus.AlreadyQueued, await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None));
    }

    [Fact]
    public async Task RecordQueued_ByDefault_AfterAnAttemptThatDidNotQueue_IsThisDeliverysToProcess_AndMarksItQueued()
    {
        IDeliveryLedger ledger = new TwoWriteLedger();
        await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None);

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.NotYetQueued, status);
        Assert.Equal(DeliveryStatus.AlreadyQueued, await ledger.RecordAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None));
    }

    [Fact]
    public async Task RecordQueued_ByDefault_OfADeliveryQueuedBefore_IsADuplicate_AndWritesNothing()
    {
        var twoWrites = new TwoWriteLedger();
        IDeliveryLedger ledger = twoWrites;
        await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None);
        var writes = twoWrites.Marks;

        var status = await ledger.RecordQueuedAsync(TicketSystemKind.Jira, "d-1", "IAM-1", CancellationToken.None);

        Assert.Equal(DeliveryStatus.AlreadyQueued, status);
        Assert.Equal(writes, twoWrites.Marks);
    }

    /// <summary>Records and marks in two steps, as the ports' default expects of a store without a one-write form.</summary>
    private sealed class TwoWriteLedger : IDeliveryLedger
    {
        private readonly Dictionary<string, bool> _queued = new(StringComparer.Ordinal);

        public int Marks { get; private set; }

        public Task<DeliveryStatus> RecordAsync(TicketSystemKind system, string deliveryId, string ticketKey, CancellationToken cancellationToken)
        {
            if (_queued.TryGetValue(deliveryId, out var queued))
            {
                return Task.FromResult(queued ? DeliveryStatus.AlreadyQueued : DeliveryStatus.NotYetQueued);
            }

            _queued[deliveryId] = false;
            return Task.FromResult(DeliveryStatus.New);
        }

        public Task MarkQueuedAsync(TicketSystemKind system, string deliveryId, CancellationToken cancellationToken)
        {
            Marks++;
            _queued[deliveryId] = true;
            return Task.CompletedTask;
        }
    }
}
