using System.Diagnostics;
using Azure;
using Azure.Storage.Queues;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// One message taken from the work queue. <see cref="Item"/> is null when the message is not a work item (not base64,
/// not JSON, no ticket): the consumer logs <see cref="RawText"/> and deletes it. Use the newest
/// <see cref="PopReceipt"/>: each <see cref="QueueWorkSource.ExtendAsync"/> replaces it.
/// </summary>
/// <param name="HiddenSince">
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken just before the call that hid the message: its hold
/// runs from no earlier, so renewals are timed from it (0: not known, time them from when the work starts).
/// </param>
public sealed record ReceivedWork(WorkItem? Item, string MessageId, string PopReceipt, long DequeueCount, string RawText, long HiddenSince = 0);

/// <summary>
/// The standalone host's side of the work queue: receive, extend visibility on long work, delete when done. It reads
/// with a client that does not decode, and decodes base64 itself, so a message some other producer put there in
/// another encoding comes back with <c>Item = null</c> instead of being skipped by the SDK and redelivered forever.
/// </summary>
public sealed class QueueWorkSource
{
    /// <summary>A receive returns at most 32 messages.</summary>
    public const int MaxBatch = 32;

    private readonly QueueClient _queue;

    /// <param name="rawQueue">A client with <see cref="QueueMessageEncoding.None"/> for the work queue.</param>
    public QueueWorkSource(QueueClient rawQueue) => _queue = rawQueue;

    public async Task<IReadOnlyList<ReceivedWork>> ReceiveAsync(int max, TimeSpan visibility, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var hiddenSince = Stopwatch.GetTimestamp();
        var messages = await _queue.ReceiveMessagesAsync(Math.Min(max, MaxBatch), Clamp(visibility), cancellationToken);
        return [.. messages.Value.Select(m =>
        {
            var raw = m.Body.ToString();
            var text = WorkMessage.DecodeBase64(raw);
            return new ReceivedWork(text is null ? null : WorkMessage.ParseMessage(text), m.MessageId, m.PopReceipt, m.DequeueCount, text ?? raw, hiddenSince);
        })];
    }

    /// <summary>Deletes a finished message; false when it was gone already or reappeared and was taken by another consumer (stale pop receipt).</summary>
    public async Task<bool> DeleteAsync(ReceivedWork received, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.DeleteMessageAsync(received.MessageId, received.PopReceipt, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400 && ex.ErrorCode is "MessageNotFound" or "PopReceiptMismatch")
        {
            return false;
        }
    }

    /// <summary>Keeps a message hidden for <paramref name="visibility"/> from now; returns it with its new pop receipt.</summary>
    public async Task<ReceivedWork> ExtendAsync(ReceivedWork received, TimeSpan visibility, CancellationToken cancellationToken)
    {
        var hiddenSince = Stopwatch.GetTimestamp();
        var updated = await _queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, messageText: null, visibilityTimeout: Clamp(visibility), cancellationToken: cancellationToken);
        return received with { PopReceipt = updated.Value.PopReceipt, HiddenSince = hiddenSince };
    }

    /// <summary>For the Azure Functions queue trigger, which hands over the decoded string.</summary>
    public static WorkItem? ParseMessage(string text) => WorkMessage.ParseMessage(text);

    private static TimeSpan Clamp(TimeSpan visibility) =>
        visibility < TimeSpan.Zero ? TimeSpan.Zero : visibility > QueueWorkQueue.MaxDelay ? QueueWorkQueue.MaxDelay : visibility;
}
