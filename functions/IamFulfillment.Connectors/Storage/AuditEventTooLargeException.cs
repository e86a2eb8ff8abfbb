using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors.Storage;

/// <summary>
/// An audit event has a property larger than Table storage can hold (64 KiB per string). The event is rejected, not
/// truncated: its hash was computed over the full values, and a shortened record would no longer verify. Keep large
/// text (notes, bodies) out of audit data and record ids, hashes or counts instead.
/// </summary>
public sealed class AuditEventTooLargeException(TicketRef ticket, long sequence, string property, int chars)
    : ArgumentException($"Audit event {sequence} of {ticket} cannot be stored: its '{property}' property has {chars} characters; Table storage holds at most {TableKeys.MaxStringPropertyChars}.")
{
    public TicketRef Ticket { get; } = ticket;
    public long Sequence { get; } = sequence;
    public string Property { get; } = property;
    public int Chars { get; } = chars;
}
