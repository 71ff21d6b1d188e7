"""The release layer: reading the official release (`reader`), writing a build (`build`, `card`),
reading a build (`built`), the Hub (`hub`) and the sample release (`sample`)."""
