namespace IamFulfillment.Core.Model;

/// <summary>
/// A person as the ticket system knows them (ServiceNow sys_user, Atlassian account). Only a pointer to a
/// directory user: it becomes a <see cref="DirectoryUser"/> through exactly one match on a stable key.
/// </summary>
public sealed record ItsmPerson(
    string ItsmId,
    string? DisplayName = null,
    string? Email = null,
    string? EmployeeNumber = null,
    string? UserName = null)
{
    public string Describe() => string.IsNullOrWhiteSpace(DisplayName) ? ItsmId : $"{DisplayName} ({ItsmId})";
}
