using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Core.Processing;

/// <summary>Source-generated, structured logs of processing: ticket keys and outcomes, never secrets or personal data.</summary>
internal static partial class ProcessingLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Ticket {Ticket} round {Round}: {Outcome} by rule {Rule}")]
    public static partial void Decided(ILogger logger, TicketRef ticket, string round, Outcome outcome, string rule);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Ticket {Ticket} skipped: {Reason}")]
    public static partial void Skipped(ILogger logger, TicketRef ticket, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Ticket {Ticket} is held by another worker; re-queued in {DelayMs} ms")]
    public static partial void LeaseBusy(ILogger logger, TicketRef ticket, double delayMs);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Ticket {Ticket} waiting: {Reason}")]
    public static partial void Waiting(ILogger logger, TicketRef ticket, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Ticket {Ticket} attempt {Attempt} failed: {Failure}; retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, TicketRef ticket, int attempt, string failure, double delayMs);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Ticket {Ticket} escalated after {Attempt} failed attempts: {Failure}")]
    public static partial void EscalatedAfterFailures(ILogger logger, TicketRef ticket, int attempt, string failure);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Ticket {Ticket}: the write-back of round {Round} had already reached the ticket; not written again")]
    public static partial void WriteBackRecovered(ILogger logger, TicketRef ticket, string round);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Safety brake engaged for {Kind} on ticket {Ticket}: {Count} of {Limit} in the window")]
    public static partial void BrakeEngaged(ILogger logger, string kind, TicketRef ticket, int count, int limit);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Critical, Message = "Ticket {Ticket} could not be escalated either: {Failure}")]
    public static partial void EscalationFailed(ILogger logger, TicketRef ticket, string failure);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Ticket {Ticket} scheduled for {When}")]
    public static partial void Scheduled(ILogger logger, TicketRef ticket, DateTimeOffset when);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Ticket {Ticket} not found in {System}: nothing to process")]
    public static partial void NotFound(ILogger logger, TicketRef ticket, TicketSystemKind system);
}
