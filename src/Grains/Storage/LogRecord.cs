namespace Platform.Grains.Storage;

/// <summary>Placeholder until the storage branch lands.</summary>
internal readonly struct LogRecord;
