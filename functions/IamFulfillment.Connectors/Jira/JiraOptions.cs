using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Model;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Jira;

/// <summary>
/// Configuration section <c>Jira</c> for the connector. The intake keys of the same section (WebhookSecret,
/// WebhookSecretSecondary, ServiceDeskIds, RequestTypeIds, MaxDeliveryAgeHours, PersonKey) are read by the hosts.
/// </summary>
public sealed class JiraOptions : ITicketConnectorOptions
{
    public const string SectionName = "Jira";

    /// <summary>The site, e.g. https://acme.atlassian.net; all API calls go under it.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Basic authentication: the integration account's e-mail with <see cref="ApiToken"/>.</summary>
    public string? Email { get; set; }

    public string? ApiToken { get; set; }

    /// <summary>
    /// The Atlassian account id the service writes as. Only its comments are trusted to carry markers, and its own
    /// changes in the changelog are not material changes by people.
    /// </summary>
    public string? IntegrationAccountId { get; set; }

    /// <summary>
    /// Normalised field name (<see cref="RequestFields"/>) → Jira field id (customfield_10050, summary, duedate, …).
    /// No defaults: an unmapped RequestedFor falls back to the reporter, any other unmapped field stays empty.
    /// </summary>
    public Dictionary<string, string> FieldMap { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>JSM request type id → request type name (AccessGrant, …). The request type, not a field the requester types, decides.</summary>
    public Dictionary<string, string> RequestTypes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Comma-separated status names read as AwaitingCustomer.</summary>
    public string AwaitingStatuses { get; set; } = "Waiting for customer";

    /// <summary>The workflow transition (name or numeric id) per outcome.</summary>
    public JiraTransitions Transitions { get; set; } = new();

    /// <summary>
    /// The issue field holding the JSM request type; a person changing it is a material change. Shared with intake,
    /// which validates it; ignored here unless it looks like a field id.
    /// </summary>
    public string RequestTypeField { get; set; } = "customfield_10010";

    /// <summary>
    /// JQL naming the issues reconciliation looks at, as the webhook's own JQL does (e.g. <c>project = HR</c>); the
    /// search adds the time and open-status clauses. Unset, Jira is not reconciled: a search of the whole site could
    /// find (and queue) issues that are not access requests at all.
    /// </summary>
    public string? ReconciliationJql { get; set; }

    /// <summary>Time allowed for one try of one call (the retry layer's attempt timeout unless Jira:Retry:AttemptTimeout says otherwise).</summary>
    [Range(1, 600, ErrorMessage = "Jira:TimeoutSeconds must be between 1 and 600.")]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Retry layer settings; bound from <c>Jira:Retry</c>.</summary>
    public RetryOptions Retry { get; set; } = new();

    internal IReadOnlyList<string> AwaitingStatusNames =>
        AwaitingStatuses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>
/// Transitions per outcome (<c>Jira:Transitions:*</c>): a transition name as the workflow shows it, or its numeric id.
/// Empty leaves the status as it is.
/// </summary>
public sealed class JiraTransitions
{
    public string Fulfilled { get; set; } = "Resolve";

    public string NeedsInfo { get; set; } = "Waiting for customer";

    public string Rejected { get; set; } = "Decline";

    /// <summary>Used only when the policy's escalation queue names no <c>JiraTransition</c> of its own.</summary>
    public string Escalated { get; set; } = string.Empty;
}

/// <summary>Start-up checks that DataAnnotations cannot express; every message names the configuration key.</summary>
public sealed partial class JiraOptionsValidator : IValidateOptions<JiraOptions>
{
    public ValidateOptionsResult Validate(string? name, JiraOptions options)
    {
        var errors = new List<string>();
        const string S = JiraOptions.SectionName;

        if (string.IsNullOrWhiteSpace(options.BaseUrl))
        {
            errors.Add($"{S}:BaseUrl is required (the site, e.g. https://acme.atlassian.net).");
        }
        else
        {
            if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                errors.Add($"{S}:BaseUrl must be an absolute http(s) URL such as https://acme.atlassian.net.");
            }
            else if (uri.Scheme == Uri.UriSchemeHttp && !LoopbackGuard.IsLoopback(uri))
            {
                errors.Add($"{S}:BaseUrl must use https (plain http is accepted only for test servers on this machine).");
            }
            else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            {
                errors.Add($"{S}:BaseUrl must not have a query or fragment.");
            }

            if (string.IsNullOrWhiteSpace(options.Email))
            {
                errors.Add($"{S}:Email is required when {S}:BaseUrl is set (the integration account's e-mail, for Basic authentication).");
            }

            if (string.IsNullOrWhiteSpace(options.ApiToken))
            {
                errors.Add($"{S}:ApiToken is required when {S}:BaseUrl is set (an API token of the integration account).");
            }

            if (string.IsNullOrWhiteSpace(options.IntegrationAccountId))
            {
                errors.Add($"{S}:IntegrationAccountId is required when {S}:BaseUrl is set (the Atlassian account id the service writes as).");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.IntegrationAccountId) && !AccountId().IsMatch(options.IntegrationAccountId))
        {
            errors.Add($"{S}:IntegrationAccountId must be an Atlassian account id such as 5b10ac8d82e05b22cc7d4ef5 or 557058:f58131cb-b67d-43c7-b30d-6b58d40bd077.");
        }

        foreach (var (field, id) in options.FieldMap)
        {
            if (!RequestFields.IsKnown(field))
            {
                errors.Add($"{S}:FieldMap:{field} is not a known field (known: {string.Join(", ", RequestFields.All)}).");
            }
            else if (!string.IsNullOrWhiteSpace(id) && !FieldId().IsMatch(id.Trim()))
            {
                errors.Add($"{S}:FieldMap:{field} must be a Jira field id such as customfield_10050, summary or duedate (not \"{Printable(id)}\").");
            }
        }

        foreach (var (typeId, type) in options.RequestTypes)
        {
            if (!Numeric().IsMatch(typeId))
            {
                errors.Add($"{S}:RequestTypes:{typeId} must be keyed by the numeric JSM request type id.");
            }

            if (!RequestTypes.TryParse(type, out _))
            {
                errors.Add($"{S}:RequestTypes:{typeId} must name a request type ({string.Join(", ", Enum.GetNames<RequestType>())}).");
            }
        }

        CheckTransition(errors, $"{S}:Transitions:Fulfilled", options.Transitions.Fulfilled);
        CheckTransition(errors, $"{S}:Transitions:NeedsInfo", options.Transitions.NeedsInfo);
        CheckTransition(errors, $"{S}:Transitions:Rejected", options.Transitions.Rejected);
        CheckTransition(errors, $"{S}:Transitions:Escalated", options.Transitions.Escalated);

        if (options.Retry.MaxAttempts < 1)
        {
            errors.Add($"{S}:Retry:MaxAttempts must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckTransition(List<string> errors, string key, string? value)
    {
        if (value is not null && value.Length > 255)
        {
            errors.Add($"{key} must be a transition name or id of at most 255 characters.");
        }
        else if (value is not null && value.Any(char.IsControl))
        {
            errors.Add($"{key} must not contain control characters.");
        }
    }

    private static string Printable(string text) => new(text.Where(c => c is >= ' ' and <= '~').Take(60).ToArray());

    [GeneratedRegex("^(customfield_[0-9]{1,12}|[a-z][A-Za-z0-9_]{0,63})$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldId();

    [GeneratedRegex("^[A-Za-z0-9:_-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccountId();

    [GeneratedRegex("^[0-9]{1,18}$", RegexOptions.CultureInvariant)]
    private static partial Regex Numeric();
}
