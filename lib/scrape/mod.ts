/** lib/scrape: see shared/DESIGN.md. @module */
