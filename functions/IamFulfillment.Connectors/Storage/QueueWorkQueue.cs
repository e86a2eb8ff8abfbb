using System.Diagnostics;
using Azure.Storage.Queues;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// Sends work items to the storage queue. The client must encode base64 (<see cref="QueueClientOptions.MessageEncoding"/>),
/// which is what the Azure Functions queue trigger expects; <see cref="StorageServiceCollectionExtensions.AddAzureStorage"/>
/// registers it that way. The queue is created at start-up (<see cref="IStorageInitializer"/>), never here.
/// </summary>
public sealed class QueueWorkQueue(QueueClient queue, ILogger<QueueWorkQueue> logger) : IWorkQueue
{
    /// <summary>
    /// Storage queues hide a message for at most 7 days. A longer delay is cut to that: the message then arrives early
    /// and its consumer must see it is not due yet and queue it again (a scheduled leaver keeps its due time in the
    /// ticket state, so nothing is lost).
    /// </summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7);

    // Never expire: the default time-to-live (7 days) would silently drop work that waited through a long outage.
    private static readonly TimeSpan NoExpiry = TimeSpan.FromSeconds(-1);

    public async Task EnqueueAsync(WorkItem item, TimeSpan? delay, CancellationToken cancellationToken)
    {
        var text = WorkMessage.Serialize(item);
        var visibility = delay is not { } requested || requested <= TimeSpan.Zero ? TimeSpan.Zero : requested;
        if (visibility > MaxDelay)
        {
            logger.DelayClamped(item.Ticket.ToString(), visibility, MaxDelay);
            visibility = MaxDelay;
        }

        var receipt = await queue.SendMessageAsync(text, visibility, NoExpiry, cancellationToken);
        logger.WorkQueued(item.Ticket.ToString(), item.Reason, item.Attempt, receipt.Value.MessageId, visibility);
    }

    /// <summary>
    /// Queues an item hidden for <paramref name="hold"/>, for this process to work on at once: it comes back as if
    /// received (delivery 1), with the pop receipt that keeps it hidden and deletes it.
    /// </summary>
    public async Task<ReceivedWork> EnqueueHeldAsync(WorkItem item, TimeSpan hold, CancellationToken cancellationToken)
    {
        var text = WorkMessage.Serialize(item);
        var visibility = hold <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : hold > MaxDelay ? MaxDelay : hold;
        var hiddenSince = Stopwatch.GetTimestamp();
        var receipt = await queue.SendMessageAsync(text, visibility, NoExpiry, cancellationToken);
        logger.WorkQueued(item.Ticket.ToString(), item.Reason, item.Attempt, receipt.Value.MessageId, visibility);
        return new ReceivedWork(item, receipt.Value.MessageId, receipt.Value.PopReceipt, 1, text, hiddenSince);
    }
}
