/** lib/analysis: see shared/DESIGN.md. @module */
