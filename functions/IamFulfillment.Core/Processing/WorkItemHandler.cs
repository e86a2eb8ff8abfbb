using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Processing;

public enum HandleOutcome
{
    /// <summary>Processed (completed, skipped, waiting, deferred or scheduled): the message can be deleted.</summary>
    Done,

    /// <summary>Failed; a copy was re-queued with a backoff delay: the message can be deleted.</summary>
    Retrying,

    /// <summary>Failed for the last time; the ticket was escalated with the failure explained: the message can be deleted.</summary>
    EscalatedAfterFailures,
}

/// <summary>
/// What both hosts call for a queued work item. Failures are retried by re-queuing a copy with a bounded,
/// jittered backoff that honours <c>Retry-After</c> (so a long wait never holds a worker); the last attempt
/// escalates the ticket with the failure explained instead of leaving the message to a poison queue.
/// Throws only when even that is impossible (storage or the ticket system down): the host's own redelivery
/// then tries again.
/// </summary>
public sealed class WorkItemHandler(TicketProcessor processor, IWorkQueue queue, ProcessingOptions options, ILogger<WorkItemHandler> logger)
{
    /// <param name="dequeueCount">How often the host has delivered this message (1 on the first delivery).</param>
    /// <param name="lastDelivery">The host will not deliver this message again (its own retry budget is used up).</param>
    public Task<HandleOutcome> HandleAsync(WorkItem item, long dequeueCount, bool lastDelivery, CancellationToken cancellationToken) =>
        HandleAsync(item, dequeueCount, lastDelivery, null, cancellationToken);

    /// <param name="ahead">The ticket read intake started while it queued this item (see <see cref="TicketProcessor.StartReading"/>).</param>
    public async Task<HandleOutcome> HandleAsync(WorkItem item, long dequeueCount, bool lastDelivery, TicketReadAhead? ahead, CancellationToken cancellationToken)
    {
        var attempt = item.Attempt + (int)Math.Clamp(dequeueCount, 1, 1000);
        try
        {
            await processor.ProcessAsync(item, ahead, cancellationToken);
            return HandleOutcome.Done;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var failure = TicketProcessor.Describe(ex);
            var permanent = ex is ConnectorException and not TransientConnectorException && ex is not TicketNotFoundException;
            if (attempt >= options.MaxAttempts || lastDelivery || permanent)
            {
                try
                {
                    await processor.EscalateFailureAsync(item, ex, attempt, cancellationToken);
                    return HandleOutcome.EscalatedAfterFailures;
                }
                catch (Exception escalation) when (escalation is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    ProcessingLog.EscalationFailed(logger, item.Ticket, TicketProcessor.Describe(escalation));
                    if (lastDelivery)
                    {
                        throw;
                    }

                    // Keep trying on the normal schedule: the ticket system or storage may come back.
                }
            }

            var delay = Backoff(attempt, (ex as TransientConnectorException)?.RetryAfter);
            ProcessingLog.Retrying(logger, item.Ticket, attempt, failure, delay.TotalMilliseconds);
            await queue.EnqueueAsync(item with { Attempt = attempt, Reason = "retry", DeliveryId = item.DeliveryId }, delay, cancellationToken);
            return HandleOutcome.Retrying;
        }
    }

    /// <summary>Exponential backoff with jitter, never shorter than what the server asked for.</summary>
    public TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var ceiling = Math.Min(options.MaxRetryDelay.TotalMilliseconds, options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1)));
#pragma warning disable CA5394 // jitter, not security
        var wait = TimeSpan.FromMilliseconds(ceiling / 2 + Random.Shared.NextDouble() * ceiling / 2);
#pragma warning restore CA5394
        return retryAfter is { } asked && asked > wait ? asked : wait;
    }
}
