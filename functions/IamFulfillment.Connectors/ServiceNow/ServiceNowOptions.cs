using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Model;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>Configuration section <c>ServiceNow</c>. Every key is listed in the README.</summary>
public sealed class ServiceNowOptions : ITicketConnectorOptions
{
    public const string SectionName = "ServiceNow";

    /// <summary>Base address of the instance (https://acme.service-now.com); all API calls go under it.</summary>
    [Required(ErrorMessage = "ServiceNow:InstanceUrl is required.")]
    public string? InstanceUrl { get; set; }

    /// <summary>Basic authentication (with <see cref="Password"/>). Either this pair or the OAuth client pair.</summary>
    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>OAuth client-credentials grant (with <see cref="ClientSecret"/>) against <c>{InstanceUrl}/oauth_token.do</c>.</summary>
    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The user name the service writes as; only journal entries it wrote count as its markers. Default: <see cref="Username"/>.</summary>
    public string? IntegrationUserName { get; set; }

    /// <summary>Which sys_user attribute identifies people in the directory: <c>Email</c> (matched to mail) or <c>EmployeeNumber</c> (employeeId).</summary>
    public string PersonKey { get; set; } = "Email";

    /// <summary>Normalised field name (<see cref="RequestFields"/>) → catalog variable name. An empty value unmaps a field.</summary>
    public Dictionary<string, string> FieldMap { get; set; } = new(ServiceNowFieldMap.DefaultVariables, StringComparer.OrdinalIgnoreCase);

    /// <summary>Catalog item (sys_id or name) → request type name. Wins over a request_type variable: admins configure it, requesters type the variable.</summary>
    public Dictionary<string, string> CatalogItems { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The RITM state values written per outcome.</summary>
    public ServiceNowStates States { get; set; } = new();

    /// <summary>Comma-separated RITM state values read as Closed.</summary>
    public string ClosedStates { get; set; } = "3,4,7";

    /// <summary>Comma-separated RITM state values read as AwaitingCustomer.</summary>
    public string AwaitingStates { get; set; } = "-5";

    /// <summary>Comma-separated RITM state values read as Open (anything else is InProgress).</summary>
    public string OpenStates { get; set; } = "1";

    /// <summary>Base64 HMAC key the business rule signs deliveries with (used by intake).</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>A second accepted key, for rotation without downtime.</summary>
    public string? WebhookSecretSecondary { get; set; }

    [Range(1, 86400, ErrorMessage = "ServiceNow:MaxSignatureAgeSeconds must be between 1 and 86400.")]
    public int MaxSignatureAgeSeconds { get; set; } = 300;

    /// <summary>Time allowed for one try of one call (the retry layer's attempt timeout unless ServiceNow:Retry:AttemptTimeout says otherwise).</summary>
    [Range(1, 600, ErrorMessage = "ServiceNow:TimeoutSeconds must be between 1 and 600.")]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Retry layer settings; bound from <c>ServiceNow:Retry</c>.</summary>
    public RetryOptions Retry { get; set; } = new();

    /// <summary>
    /// Encoded query naming the requested items reconciliation searches (e.g. <c>cat_item.category=&lt;sys_id&gt;</c>);
    /// unset, the catalog items under <see cref="CatalogItems"/>. With neither, ServiceNow is not reconciled: a search
    /// of every requested item could queue requests that are not access requests at all.
    /// </summary>
    public string? ReconciliationQuery { get; set; }

    public bool UsesOAuth => !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>The encoded query reconciliation's item search is narrowed by (see <see cref="ReconciliationQuery"/>); null: none.</summary>
    public string? ReconciliationScope()
    {
        if (!string.IsNullOrWhiteSpace(ReconciliationQuery))
        {
            return ReconciliationQuery.Trim();
        }

        // One OR chain (^OR binds to the condition before it): cat_item IN the sys_ids, or its name is one of the names.
        var ids = CatalogItems.Keys.Where(ServiceNowQuery.IsSysId).ToList();
        var names = CatalogItems.Keys.Where(k => !ServiceNowQuery.IsSysId(k)).Select(n => $"cat_item.name={ServiceNowQuery.Literal(n, nameof(CatalogItems))}").ToList();
        List<string> terms = ids.Count > 0 ? [$"cat_itemIN{ServiceNowQuery.SysIdList(ids)}", .. names] : names;
        return terms.Count == 0 ? null : string.Join("^OR", terms);
    }

    /// <summary>The user name journal entries written by this service carry in sys_created_by.</summary>
    public string EffectiveIntegrationUserName => string.IsNullOrWhiteSpace(IntegrationUserName) ? Username ?? string.Empty : IntegrationUserName;

    /// <summary>The directory key ticket people are matched on.</summary>
    public Core.Ports.PersonKey DirectoryPersonKey =>
        string.Equals(PersonKey, "EmployeeNumber", StringComparison.OrdinalIgnoreCase) ? Core.Ports.PersonKey.EmployeeId : Core.Ports.PersonKey.Email;
}

/// <summary>RITM state values per outcome (<c>ServiceNow:States:*</c>). Empty leaves the state unchanged.</summary>
public sealed class ServiceNowStates
{
    /// <summary>Closed Complete.</summary>
    public string Fulfilled { get; set; } = "3";

    /// <summary>Pending (awaiting the requester).</summary>
    public string NeedsInfo { get; set; } = "-5";

    /// <summary>Closed Incomplete.</summary>
    public string Rejected { get; set; } = "4";

    /// <summary>Empty by default: the assignment group routes an escalation, the state stays.</summary>
    public string Escalated { get; set; } = string.Empty;
}

/// <summary>Start-up checks that DataAnnotations cannot express; every message names the configuration key.</summary>
public sealed partial class ServiceNowOptionsValidator : IValidateOptions<ServiceNowOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceNowOptions options)
    {
        var errors = new List<string>();
        const string S = ServiceNowOptions.SectionName;

        if (!string.IsNullOrWhiteSpace(options.InstanceUrl))
        {
            if (!Uri.TryCreate(options.InstanceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                errors.Add($"{S}:InstanceUrl must be an absolute http(s) URL such as https://acme.service-now.com.");
            }
            else if (uri.Scheme == Uri.UriSchemeHttp && !LoopbackGuard.IsLoopback(uri))
            {
                errors.Add($"{S}:InstanceUrl must use https (plain http is accepted only for test servers on this machine).");
            }
            else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            {
                errors.Add($"{S}:InstanceUrl must not have a query or fragment.");
            }
        }

        var hasUser = !string.IsNullOrWhiteSpace(options.Username);
        var hasPassword = !string.IsNullOrEmpty(options.Password);
        var hasClient = !string.IsNullOrWhiteSpace(options.ClientId);
        var hasSecret = !string.IsNullOrEmpty(options.ClientSecret);
        if (hasUser != hasPassword)
        {
            errors.Add(hasUser ? $"{S}:Password is required when {S}:Username is set." : $"{S}:Username is required when {S}:Password is set.");
        }

        if (hasClient != hasSecret)
        {
            errors.Add(hasClient ? $"{S}:ClientSecret is required when {S}:ClientId is set." : $"{S}:ClientId is required when {S}:ClientSecret is set.");
        }

        var basic = hasUser && hasPassword;
        var oauth = hasClient && hasSecret;
        if (basic && oauth)
        {
            errors.Add($"Configure either {S}:Username and {S}:Password (basic) or {S}:ClientId and {S}:ClientSecret (OAuth), not both.");
        }
        else if (!basic && !oauth && !hasUser && !hasPassword && !hasClient && !hasSecret)
        {
            errors.Add($"{S}:Username and {S}:Password (basic) or {S}:ClientId and {S}:ClientSecret (OAuth client credentials) are required.");
        }

        if (oauth && !basic && string.IsNullOrWhiteSpace(options.IntegrationUserName))
        {
            errors.Add($"{S}:IntegrationUserName is required with OAuth client credentials (the user name of the OAuth application user).");
        }

        var integrationUser = options.EffectiveIntegrationUserName;
        if (!string.IsNullOrEmpty(integrationUser) && !ServiceNowQuery.IsSafeUserName(integrationUser))
        {
            errors.Add($"{S}:IntegrationUserName may hold only letters, digits and . _ @ + - (it is used in queries).");
        }

        if (!string.Equals(options.PersonKey, "Email", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(options.PersonKey, "EmployeeNumber", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{S}:PersonKey must be Email or EmployeeNumber.");
        }

        foreach (var (field, variable) in options.FieldMap)
        {
            if (!RequestFields.IsKnown(field))
            {
                errors.Add($"{S}:FieldMap:{field} is not a known field (known: {string.Join(", ", RequestFields.All)}).");
            }
            else if (!string.IsNullOrEmpty(variable) && !VariableName().IsMatch(variable))
            {
                errors.Add($"{S}:FieldMap:{field} must be a catalog variable name (letters, digits, underscore).");
            }
        }

        foreach (var (item, type) in options.CatalogItems)
        {
            if (!RequestTypes.TryParse(type, out _))
            {
                errors.Add($"{S}:CatalogItems:{item} must name a request type ({string.Join(", ", Enum.GetNames<RequestType>())}).");
            }

            if (item.Contains('^', StringComparison.Ordinal) || item.Contains("javascript", StringComparison.OrdinalIgnoreCase) || item.Any(char.IsControl))
            {
                errors.Add($"{S}:CatalogItems:{item}: a catalog item name cannot hold ^, control characters or 'javascript' (it is used in queries).");
            }
        }

        if (options.ReconciliationQuery is { } scope && !string.IsNullOrWhiteSpace(scope)
            && (scope.Contains("^NQ", StringComparison.Ordinal) || scope.Contains("javascript", StringComparison.OrdinalIgnoreCase) || scope.Any(char.IsControl)))
        {
            errors.Add($"{S}:ReconciliationQuery must be a plain encoded query: no ^NQ (it is joined to the search's own conditions), no javascript, no control characters.");
        }

        CheckState(errors, $"{S}:States:Fulfilled", options.States.Fulfilled);
        CheckState(errors, $"{S}:States:NeedsInfo", options.States.NeedsInfo);
        CheckState(errors, $"{S}:States:Rejected", options.States.Rejected);
        CheckState(errors, $"{S}:States:Escalated", options.States.Escalated);
        CheckStateList(errors, $"{S}:ClosedStates", options.ClosedStates);
        CheckStateList(errors, $"{S}:AwaitingStates", options.AwaitingStates);
        CheckStateList(errors, $"{S}:OpenStates", options.OpenStates);
        CheckBase64(errors, $"{S}:WebhookSecret", options.WebhookSecret);
        CheckBase64(errors, $"{S}:WebhookSecretSecondary", options.WebhookSecretSecondary);

        if (options.Retry.MaxAttempts < 1)
        {
            errors.Add($"{S}:Retry:MaxAttempts must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckState(List<string> errors, string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value) && !int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            errors.Add($"{key} must be a state value (an integer such as 3), or empty.");
        }
    }

    private static void CheckStateList(List<string> errors, string key, string? value)
    {
        foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                errors.Add($"{key} must be a comma-separated list of state values (integers), not \"{part}\".");
                return;
            }
        }
    }

    private static void CheckBase64(List<string> errors, string key, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        var buffer = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, buffer, out var length) || length == 0)
        {
            errors.Add($"{key} must be base64 (the key the business rule signs with).");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();
}
