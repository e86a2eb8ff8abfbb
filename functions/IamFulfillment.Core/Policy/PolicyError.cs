namespace IamFulfillment.Core.Policy;

/// <summary>One problem in a policy file, with where it is (JSON path and line).</summary>
public sealed record PolicyError(string Path, int? Line, string Message)
{
    public override string ToString() => Line is { } line ? $"{Path} (line {line}): {Message}" : $"{Path}: {Message}";
}

/// <summary>Thrown when a policy cannot be used; carries every error found, not just the first.</summary>
public sealed class PolicyInvalidException(string source, IReadOnlyList<PolicyError> errors)
    : Exception($"Policy '{source}' is invalid: {errors.Count} error(s). " + string.Join("; ", errors.Take(5)))
{
    public IReadOnlyList<PolicyError> Errors { get; } = errors;
}
