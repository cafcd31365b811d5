namespace Storage.Api;

/// <summary>The configuration does not allow the API to start; the message names the setting.</summary>
internal sealed class ApiConfigurationException(string message, Exception? innerException = null) : Exception(message, innerException);
