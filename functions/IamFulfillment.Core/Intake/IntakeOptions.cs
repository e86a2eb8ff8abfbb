namespace IamFulfillment.Core.Intake;

/// <summary>Webhook secrets and limits; bound by the hosts from the ServiceNow, Jira and Intake configuration sections.</summary>
public sealed class IntakeOptions
{
    /// <summary>Largest accepted body.</summary>
    public int MaxBodyBytes { get; set; } = 256 * 1024;

    /// <summary>ServiceNow HMAC keys (decoded from base64, as CertificateEncryption.generateMac takes them); two during rotation.</summary>
    public IReadOnlyList<byte[]> ServiceNowKeys { get; set; } = [];

    /// <summary>How old (or how far in the future) a ServiceNow delivery's signed timestamp may be.</summary>
    public TimeSpan ServiceNowMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Jira admin-webhook secrets (used as raw UTF-8 bytes); two during rotation.</summary>
    public IReadOnlyList<string> JiraSecrets { get; set; } = [];

    /// <summary>Jira deliveries older than this (by the signed body timestamp) are refused; Jira's own retries take about an hour.</summary>
    public TimeSpan JiraMaxAge { get; set; } = TimeSpan.FromHours(48);

    /// <summary>Only these service desks are taken (empty = all).</summary>
    public IReadOnlyList<string> JiraServiceDeskIds { get; set; } = [];

    /// <summary>Only these request types are taken (empty = all).</summary>
    public IReadOnlyList<string> JiraRequestTypeIds { get; set; } = [];

    /// <summary>The account the service writes to Jira as: deliveries it caused (its own comments, transitions) are ignored.</summary>
    public string? JiraIntegrationAccountId { get; set; }

    /// <summary>The issue field that holds the JSM request type (Customer Request Type).</summary>
    public string JiraRequestTypeField { get; set; } = "customfield_10010";

    /// <summary>
    /// Whether a Jira request raised on <paramref name="serviceDeskId"/> with <paramref name="requestTypeId"/> is the
    /// service's to handle (<see cref="JiraServiceDeskIds"/>, <see cref="JiraRequestTypeIds"/>); when not, why.
    /// </summary>
    public bool TakesJiraRequest(string? serviceDeskId, string? requestTypeId, out string why)
    {
        why = "";
        if (JiraServiceDeskIds.Count > 0 && (serviceDeskId is null || !JiraServiceDeskIds.Contains(serviceDeskId, StringComparer.Ordinal)))
        {
            why = $"Service desk '{WebhookIntake.Printable(serviceDeskId)}' is not configured (Jira:ServiceDeskIds); acknowledged and ignored.";
            return false;
        }

        if (JiraRequestTypeIds.Count > 0 && (requestTypeId is null || !JiraRequestTypeIds.Contains(requestTypeId, StringComparer.Ordinal)))
        {
            why = $"Request type '{WebhookIntake.Printable(requestTypeId)}' is not configured (Jira:RequestTypeIds); acknowledged and ignored.";
            return false;
        }

        return true;
    }
}
