using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Intake;

/// <summary>What intake made of a webhook delivery; hosts map it to an HTTP status.</summary>
public enum IntakeStatus
{
    /// <summary>Durably queued (202).</summary>
    Accepted,

    /// <summary>Seen and queued before: acknowledged, nothing queued again (200; never 409, which Jira retries).</summary>
    Duplicate,

    /// <summary>Authentic, but not for this service (another service desk, another event): acknowledged and counted (200).</summary>
    Ignored,

    /// <summary>Signature missing, wrong, stale, or no secret configured (401).</summary>
    Unauthorized,

    /// <summary>Not a webhook this service understands (400).</summary>
    BadRequest,

    /// <summary>Body over the size limit (413).</summary>
    TooLarge,

    /// <summary>Not JSON (415).</summary>
    UnsupportedMediaType,

    /// <summary>Storage is unavailable: nothing was queued; the sender retries (503).</summary>
    Unavailable,
}

public sealed record IntakeResult(IntakeStatus Status, string Message, string? DeliveryId = null, TicketRef? Ticket = null)
{
    public int HttpStatus => Status switch
    {
        IntakeStatus.Accepted => 202,
        IntakeStatus.Duplicate or IntakeStatus.Ignored => 200,
        IntakeStatus.Unauthorized => 401,
        IntakeStatus.TooLarge => 413,
        IntakeStatus.UnsupportedMediaType => 415,
        IntakeStatus.Unavailable => 503,
        _ => 400,
    };
}

/// <summary>The outcome of a signature check; anything but <see cref="Valid"/> refuses the delivery (fail closed).</summary>
public enum SignatureCheck
{
    Valid,
    MissingSignature,
    Mismatch,
    SecretNotConfigured,
}
