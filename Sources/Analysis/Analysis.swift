/// Pure image algorithms (issue 4). Placeholder until the algorithms land.
public enum ImageAnalysis {}
