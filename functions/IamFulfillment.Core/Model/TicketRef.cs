namespace IamFulfillment.Core.Model;

/// <summary>The ticket systems the service reads requests from.</summary>
public enum TicketSystemKind
{
    ServiceNow,
    Jira,
}

/// <summary>Identifies one ticket: its system and the key that system's API reads it by (ServiceNow sys_id, Jira issue key).</summary>
public sealed record TicketRef(TicketSystemKind System, string Key)
{
    public override string ToString() => $"{System}:{Key}";

    /// <summary>A storage-safe identifier (no '/', '\', '#', '?').</summary>
    public string StorageKey => $"{System.ToString().ToLowerInvariant()}-{Key}";
}
