using System.Globalization;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors.ServiceNow;

/// <summary>
/// How this instance's data maps to the normalised request: catalog variables to <see cref="RequestFields"/>,
/// catalog items to request types, RITM states to <see cref="TicketStatus"/> and outcomes to RITM states.
/// </summary>
public sealed class ServiceNowFieldMap
{
    /// <summary>Default catalog variable per normalised field.</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultVariables = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [RequestFields.RequestType] = "request_type",
        [RequestFields.RequestedFor] = "requested_for",
        [RequestFields.Entitlements] = "entitlements",
        [RequestFields.Justification] = "business_justification",
        [RequestFields.StartDate] = "start_date",
        [RequestFields.EndDate] = "end_date",
        [RequestFields.EffectiveDate] = "effective_date",
        [RequestFields.TerminationDate] = "termination_date",
        [RequestFields.TimeZone] = "time_zone",
        [RequestFields.EmployeeNumber] = "employee_number",
        [RequestFields.VerificationMethod] = "verification_method",
        [RequestFields.VerifiedBy] = "verified_by",
        [RequestFields.VerifiedAt] = "verified_at",
        [RequestFields.Reason] = "reason",
    };

    /// <summary>RITM columns whose changes are material (besides the variables mapped to <see cref="MaterialFields"/>), with the name a change is reported under.</summary>
    public static readonly IReadOnlyDictionary<string, string> MaterialItemColumns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["requested_for"] = RequestFields.RequestedFor,
        ["cat_item"] = "CatalogItem",
    };

    /// <summary>item_option_new.type of a Date/Time variable (9 is Date).</summary>
    public const string DateTimeVariableType = "10";

    private readonly Dictionary<string, List<string>> _fieldsByVariable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _catalogItems;
    private readonly ServiceNowStates _states;
    private readonly HashSet<string> _closed;
    private readonly HashSet<string> _awaiting;
    private readonly HashSet<string> _open;

    public ServiceNowFieldMap(ServiceNowOptions options)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, variable) in options.FieldMap)
        {
            var known = RequestFields.All.FirstOrDefault(f => string.Equals(f, field, StringComparison.OrdinalIgnoreCase));
            if (known is null || string.IsNullOrWhiteSpace(variable))
            {
                continue;
            }

            variables[known] = variable.Trim();
            if (!_fieldsByVariable.TryGetValue(variable.Trim(), out var fields))
            {
                _fieldsByVariable[variable.Trim()] = fields = [];
            }

            fields.Add(known);
        }

        VariableByField = variables;
        _catalogItems = new Dictionary<string, string>(options.CatalogItems, StringComparer.OrdinalIgnoreCase);
        _states = options.States;
        _closed = StateSet(options.ClosedStates);
        _awaiting = StateSet(options.AwaitingStates);
        _open = StateSet(options.OpenStates);
    }

    /// <summary>Normalised field → catalog variable name (mapped fields only).</summary>
    public IReadOnlyDictionary<string, string> VariableByField { get; }

    /// <summary>The normalised fields a catalog variable feeds (none when it is not mapped).</summary>
    public IReadOnlyList<string> FieldsOf(string variableName) =>
        _fieldsByVariable.TryGetValue(variableName, out var fields) ? fields : [];

    /// <summary>The request type configured for a catalog item, by its sys_id first, then by its name.</summary>
    public string? RequestTypeFor(string? catalogItemSysId, string? catalogItemName)
    {
        if (!string.IsNullOrEmpty(catalogItemSysId) && _catalogItems.TryGetValue(catalogItemSysId, out var byId))
        {
            return byId;
        }

        return !string.IsNullOrEmpty(catalogItemName) && _catalogItems.TryGetValue(catalogItemName, out var byName) ? byName : null;
    }

    public TicketStatus StatusOf(string? rawState)
    {
        var state = rawState?.Trim() ?? string.Empty;
        return _closed.Contains(state) ? TicketStatus.Closed
            : _awaiting.Contains(state) ? TicketStatus.AwaitingCustomer
            : _open.Contains(state) ? TicketStatus.Open
            : TicketStatus.InProgress;
    }

    /// <summary>The RITM state to write for an outcome; null leaves the state as it is.</summary>
    public string? StateFor(Outcome outcome)
    {
        var value = outcome switch
        {
            Outcome.Fulfilled => _states.Fulfilled,
            Outcome.NeedsInfo => _states.NeedsInfo,
            Outcome.Rejected => _states.Rejected,
            Outcome.Escalated => _states.Escalated,
            _ => null,
        };
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>
    /// A variable's value as the core expects it: date/time values (stored in UTC as <c>yyyy-MM-dd HH:mm:ss</c>)
    /// become ISO-8601 UTC; dates (<c>yyyy-MM-dd</c>) and everything else pass through.
    /// </summary>
    public static string NormaliseValue(string field, string? variableType, string value)
    {
        if ((variableType == DateTimeVariableType || RequestFields.DateFields.Contains(field)) && ServiceNowTime.Parse(value) is { } at)
        {
            return ServiceNowTime.ToIso(at);
        }

        return value;
    }

    private static HashSet<string> StateSet(string? list) =>
        new((list ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
}

/// <summary>
/// ServiceNow date-times are UTC without an offset (<c>yyyy-MM-dd HH:mm:ss</c>). They are parsed with an exact
/// format as UTC, so the machine's time zone never takes part.
/// </summary>
public static class ServiceNowTime
{
    public const string Format = "yyyy-MM-dd HH:mm:ss";

    public static DateTimeOffset? Parse(string? value) =>
        !string.IsNullOrWhiteSpace(value)
        && DateTimeOffset.TryParseExact(value.Trim(), Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;

    public static string ToIso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
