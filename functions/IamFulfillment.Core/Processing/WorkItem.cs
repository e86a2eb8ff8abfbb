using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// A queued signal that a ticket may need work. It names the ticket only: everything else is read again from the
/// ticket system. <see cref="Attempt"/> counts re-queues after failures (the queue's own dequeue count adds to it).
/// </summary>
public sealed record WorkItem
{
    public required TicketSystemKind System { get; init; }
    public required string TicketKey { get; init; }
    public string? DeliveryId { get; init; }
    public DateTimeOffset? ReceivedAt { get; init; }
    public int Attempt { get; init; }

    /// <summary>Why this item was queued: a webhook, a retry, a scheduled action, a reconciliation sweep.</summary>
    public string Reason { get; init; } = "webhook";

    public TicketRef Ticket => new(System, TicketKey);
}
