namespace IamFulfillment.Sandbox.Graph;

/// <summary>
/// A user in the sandbox directory. Seed with an object initializer; the sandbox keeps its own copy, so read the
/// state back with <see cref="GraphSandbox.User"/>.
/// </summary>
public sealed class SandboxUser
{
    public string Id { get; init; } = Guid.NewGuid().ToString();
    public required string UserPrincipalName { get; set; }
    public string? DisplayName { get; set; }
    public string? Mail { get; set; }
    public string? EmployeeId { get; set; }
    public string? EmployeeType { get; set; }

    /// <summary>"Member" or "Guest".</summary>
    public string UserType { get; set; } = "Member";

    public bool AccountEnabled { get; set; } = true;
    public string? Department { get; set; }
    public string? JobTitle { get; set; }

    /// <summary>True for accounts synchronised from on-premises AD (their accountEnabled cannot be changed in the cloud).</summary>
    public bool? OnPremisesSyncEnabled { get; set; }

    public string? ManagerId { get; set; }

    /// <summary><c>extensionAttribute1</c> … <c>extensionAttribute15</c>.</summary>
    public Dictionary<string, string?> OnPremisesExtensionAttributes { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Directory extension properties such as <c>extension_&lt;appid&gt;_atlassianId</c>.</summary>
    public Dictionary<string, string?> Extensions { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How many times its sign-in sessions were revoked.</summary>
    public int SessionRevocations { get; internal set; }

    internal SandboxUser Clone() => new()
    {
        Id = Id,
        UserPrincipalName = UserPrincipalName,
        DisplayName = DisplayName,
        Mail = Mail,
        EmployeeId = EmployeeId,
        EmployeeType = EmployeeType,
        UserType = UserType,
        AccountEnabled = AccountEnabled,
        Department = Department,
        JobTitle = JobTitle,
        OnPremisesSyncEnabled = OnPremisesSyncEnabled,
        ManagerId = ManagerId,
        OnPremisesExtensionAttributes = new(OnPremisesExtensionAttributes, StringComparer.OrdinalIgnoreCase),
        Extensions = new(Extensions, StringComparer.OrdinalIgnoreCase),
        SessionRevocations = SessionRevocations,
    };
}

/// <summary>A group in the sandbox directory. Members may be users or other groups (nesting).</summary>
public sealed class SandboxGroup
{
    public string Id { get; init; } = Guid.NewGuid().ToString();
    public required string DisplayName { get; set; }
    public bool IsAssignableToRole { get; set; }

    /// <summary>E.g. <c>["DynamicMembership"]</c> or <c>["Unified"]</c>.</summary>
    public List<string> GroupTypes { get; init; } = [];

    public bool? OnPremisesSyncEnabled { get; set; }
    public bool SecurityEnabled { get; set; } = true;
    public bool MailEnabled { get; set; }

    public bool IsDynamic => GroupTypes.Contains("DynamicMembership", StringComparer.OrdinalIgnoreCase);

    internal SandboxGroup Clone() => new()
    {
        Id = Id,
        DisplayName = DisplayName,
        IsAssignableToRole = IsAssignableToRole,
        GroupTypes = [.. GroupTypes],
        OnPremisesSyncEnabled = OnPremisesSyncEnabled,
        SecurityEnabled = SecurityEnabled,
        MailEnabled = MailEnabled,
    };
}

/// <summary>An activated directory role (e.g. "User Administrator"); its members hold the role.</summary>
public sealed record SandboxRole(string Id, string DisplayName, string RoleTemplateId);

/// <summary>An administrative unit; users can be members, and it shows up in memberOf like Graph's does.</summary>
public sealed record SandboxAdministrativeUnit(string Id, string DisplayName);

/// <summary>A registered authentication method; <see cref="Type"/> is the Graph type name without namespace.</summary>
public sealed record SandboxAuthMethod(string Id, string Type, string? DisplayName = null);

/// <summary>Graph authentication method type names and the well-known id of the password method.</summary>
public static class SandboxMethodTypes
{
    public const string PasswordMethodId = "28c10230-6103-485e-b985-444c60001490";

    public const string Password = "passwordAuthenticationMethod";
    public const string MicrosoftAuthenticator = "microsoftAuthenticatorAuthenticationMethod";
    public const string Phone = "phoneAuthenticationMethod";
    public const string Fido2 = "fido2AuthenticationMethod";
    public const string SoftwareOath = "softwareOathAuthenticationMethod";
    public const string WindowsHelloForBusiness = "windowsHelloForBusinessAuthenticationMethod";
    public const string Email = "emailAuthenticationMethod";
    public const string TemporaryAccessPass = "temporaryAccessPassAuthenticationMethod";
    public const string PlatformCredential = "platformCredentialAuthenticationMethod";

    /// <summary>The URL segment under <c>/users/{id}/authentication/</c> for each type.</summary>
    internal static readonly IReadOnlyDictionary<string, string> SegmentToType = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["passwordMethods"] = Password,
        ["microsoftAuthenticatorMethods"] = MicrosoftAuthenticator,
        ["phoneMethods"] = Phone,
        ["fido2Methods"] = Fido2,
        ["softwareOathMethods"] = SoftwareOath,
        ["windowsHelloForBusinessMethods"] = WindowsHelloForBusiness,
        ["emailMethods"] = Email,
        ["temporaryAccessPassMethods"] = TemporaryAccessPass,
        ["platformCredentialMethods"] = PlatformCredential,
    };
}

/// <summary>A Temporary Access Pass the sandbox issued (tests may read the pass; the connector must never log it).</summary>
public sealed record SandboxTap(string Id, string UserId, string Pass, DateTimeOffset StartDateTime, int LifetimeInMinutes, bool IsUsableOnce);

/// <summary>A mail sent through <c>POST /users/{id}/sendMail</c>.</summary>
public sealed record SandboxMail(
    string SenderId,
    IReadOnlyList<string> To,
    string Subject,
    string Body,
    string ContentType,
    bool SaveToSentItems,
    DateTimeOffset SentAt);

/// <summary>One request as the sandbox saw it: an HTTP call, or a request inside a <c>$batch</c>.</summary>
public sealed record SandboxRequest(
    DateTimeOffset At,
    string Method,
    string Path,
    string Query,
    int Status,
    bool InBatch,
    int? BatchSize,
    string? Fault)
{
    /// <summary>When the HTTP call arrived (before the added latency); <see cref="At"/> is when it was handled.</summary>
    public DateTimeOffset ReceivedAt { get; init; } = At;
}

/// <summary>Changes that actually altered the directory (a repeated add that Graph answers "already exists" does not count).</summary>
public sealed record SandboxChanges(
    int MembershipsAdded,
    int MembershipsRemoved,
    int AccountsDisabled,
    int AccountsEnabled,
    int SessionRevocations,
    int TapsIssued,
    int MethodsRemoved,
    int MailsSent)
{
    /// <summary>Every directory change (mail is not a directory change).</summary>
    public int DirectoryChanges => MembershipsAdded + MembershipsRemoved + AccountsDisabled + AccountsEnabled + SessionRevocations + TapsIssued + MethodsRemoved;
}
